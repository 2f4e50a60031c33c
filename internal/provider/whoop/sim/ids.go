package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Ids encode where a record comes from, so that a by-id request generates
// exactly one night instead of searching the history:
//   - cycle ids are cycleBase + night*MaxUsers + user index, rising over time
//     like WHOOP's sequential ids;
//   - v1 ids are v1Base + (night*MaxUsers + user)*slotCount + slot;
//   - UUIDs carry (user, night, slot) masked with a seeded key, and a tag
//     that rejects forged or foreign ids.
const (
	cycleBase int64 = 100_000_000
	v1Base    int64 = 1_000_000_000
)

func cycleID(u *User, n int) int64 { return cycleBase + int64(n)*MaxUsers + int64(u.Index) }

func decodeCycleID(id int64) (user, n int, ok bool) {
	x := id - cycleBase
	if x < 0 {
		return 0, 0, false
	}
	return int(x % MaxUsers), int(x / MaxUsers), true
}

func v1ID(u *User, n, slot int) int64 {
	return v1Base + (int64(n)*MaxUsers+int64(u.Index))*slotCount + int64(slot)
}

func decodeV1ID(id int64) (user, n, slot int, ok bool) {
	x := id - v1Base
	if x < 0 {
		return 0, 0, 0, false
	}
	slot = int(x % slotCount)
	x /= slotCount
	return int(x % MaxUsers), int(x / MaxUsers), slot, true
}

// activityUUID is the v2 id of a sleep or workout. Bytes 8-15 are a tag of
// the payload (user, night, slot); the payload sits in bytes 0-5 and 7,
// masked with a key derived from the tag so that ids look random; byte 6
// holds the version.
func (w *World) activityUUID(u *User, n, slot int) string {
	var p [7]byte
	binary.BigEndian.PutUint16(p[0:2], uint16(u.Index))
	binary.BigEndian.PutUint32(p[2:6], uint32(n))
	p[6] = byte(slot)
	tag := w.uuidMAC("tag", p[:])
	var b [16]byte
	copy(b[8:], tag[:8])
	b[8] = b[8]&0x3f | 0x80
	b[6] = 0x40 | tag[8]&0x0f
	mask := w.uuidMAC("mask", b[6:])
	for i, j := range payloadPos {
		b[j] = p[i] ^ mask[i]
	}
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

var payloadPos = [7]int{0, 1, 2, 3, 4, 5, 7}

// decodeUUID reverses activityUUID; ok is false for any id it did not make.
func (w *World) decodeUUID(id string) (user, n, slot int, ok bool) {
	if !isUUID(id) {
		return 0, 0, 0, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(strings.ToLower(id), "-", ""))
	if err != nil || len(raw) != 16 {
		return 0, 0, 0, false
	}
	var b [16]byte
	copy(b[:], raw)
	b[7] = 0 // masked payload byte, not part of the mask's input
	mask := w.uuidMAC("mask", b[6:])
	var p [7]byte
	for i, j := range payloadPos {
		p[i] = raw[j] ^ mask[i]
	}
	user = int(binary.BigEndian.Uint16(p[0:2]))
	n = int(binary.BigEndian.Uint32(p[2:6]))
	slot = int(p[6])
	if user >= len(w.users) || slot >= slotCount {
		return 0, 0, 0, false
	}
	if w.activityUUID(w.users[user], n, slot) != strings.ToLower(id) {
		return 0, 0, 0, false
	}
	return user, n, slot, true
}

func (w *World) uuidMAC(label string, p []byte) []byte {
	m := hmac.New(sha256.New, w.key)
	m.Write([]byte("uuid-" + label))
	m.Write(p)
	return m.Sum(nil)
}
