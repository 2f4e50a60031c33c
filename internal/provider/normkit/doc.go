// Package normkit is what every provider's normalizer shares to fill ROOK
// documents: time (which instants a ROOK datetime can carry, local days,
// the user's zone from the offsets of their own documents, ROOK's datetime
// layout written fast), the value rules of ROOK's fields (rounding, ranges,
// unknown as null) and the items of non_structured_data_array. It is pure
// and names no provider; each provider's normalize package adapts its own
// types to it.
package normkit
