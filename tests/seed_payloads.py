"""JSON examples copied verbatim from the TTG seed documents, shared by the decoding tests."""

SEED_LOCATIONS = b"""{
 "data": [
 {"id": "2", "name": "London", "country": "GB"},
 {"id": "1", "name": "New York", "country": "US"}
 ],
 "pagination": {"limit": 50, "offset": 0, "total": 2}
}"""

SEED_INVENTORY = b"""{
 "data": [
 {
 "id": "eyJzIjoiT1JDSC1BLTEwMSJ9",
 "inventoryVariant": {
 "_type": "AssignedSeat",
 "id": "Orchestra-A-101",
 "name": "Orchestra A 101",
 "section": "Orchestra",
 "row": "A",
 "seat": "101"
 },
 "quantityAvailable": 1,
 "priceOptions": [
 {
 "id": "eyJjIjoiRlVMTCJ9",
 "category": { "name": "Adult" },
 "listPrice": { "amount": 15000, "currency": "USD" },
 "sellPrice": { "amount": 12500, "currency": "USD" }
 }
 ]
 }
 ]
}"""
