package sim

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Document ids are UUIDv4-shaped but carry their own address: the day, the
// collection and the position within that day's list, so a single-document
// request is answered by generating one day instead of scanning history.
//
// Layout of the 16 bytes:
//
//	0..5   payload (3 bytes biased day number, 1 byte collection, 2 bytes item), XOR mask
//	6      0x40 | 4 tag bits   (version nibble 4)
//	7      8 tag bits
//	8      0x80 | 6 tag bits   (RFC 4122 variant)
//	9..15  56 tag bits
//
// The 74-bit tag is a keyed hash of (seed, user, payload), and the mask is a
// keyed hash of (seed, user, tag). A random UUID, or another user's id, fails
// the tag check with probability 1-2^-74, and the payload looks random.

// Collection codes inside ids. They are part of the id format: never renumber.
const (
	idSleep byte = iota + 1
	idDailySleep
	idDailyReadiness
	idDailyActivity
	idDailySpO2
	idDailyStress
	idDailyResilience
	idDailyCardiovascularAge
	idVO2Max
	idSleepTime
	idWorkout
	idSession
	idTag
	idEnhancedTag
	idRestModePeriod
	idRingConfiguration
)

var idCodes = map[string]byte{
	oura.CollSleep:                  idSleep,
	oura.CollDailySleep:             idDailySleep,
	oura.CollDailyReadiness:         idDailyReadiness,
	oura.CollDailyActivity:          idDailyActivity,
	oura.CollDailySpO2:              idDailySpO2,
	oura.CollDailyStress:            idDailyStress,
	oura.CollDailyResilience:        idDailyResilience,
	oura.CollDailyCardiovascularAge: idDailyCardiovascularAge,
	oura.CollVO2Max:                 idVO2Max,
	oura.CollSleepTime:              idSleepTime,
	oura.CollWorkout:                idWorkout,
	oura.CollSession:                idSession,
	oura.CollTag:                    idTag,
	oura.CollEnhancedTag:            idEnhancedTag,
	oura.CollRestModePeriod:         idRestModePeriod,
	oura.CollRingConfiguration:      idRingConfiguration,
}

const dayBias = 1 << 23

type idAddr struct {
	dn   int
	coll byte
	item int
}

func (a idAddr) payload() uint64 {
	return uint64(a.dn+dayBias)<<24 | uint64(a.coll)<<16 | uint64(a.item)
}

func (w *World) tag(user int, payload uint64) (uint64, uint64) {
	t1 := hash4(uint64(w.cfg.Seed), uint64(user), payload, stIDMac)
	return t1, mix64(t1 ^ 0x2545f4914f6cdd1d)
}

func (w *World) mask(user int, b []byte) uint64 {
	x := binary.BigEndian.Uint64(b[8:16])
	y := uint64(b[6])<<8 | uint64(b[7])
	return hash4(uint64(w.cfg.Seed), uint64(user), x, y^stIDMask<<32)
}

// docID encodes the address of a document of user.
func (w *World) docID(user int, a idAddr) string {
	var b [16]byte
	p := a.payload()
	t1, t2 := w.tag(user, p)
	b[6] = 0x40 | byte(t2&0x0f)
	b[7] = byte(t1 >> 56)
	b[8] = 0x80 | byte(t2>>4&0x3f)
	for i := 0; i < 7; i++ {
		b[9+i] = byte(t1 >> (48 - 8*i))
	}
	m := w.mask(user, b[:])
	for i := 0; i < 6; i++ {
		b[i] = byte(p>>(40-8*i)) ^ byte(m>>(40-8*i))
	}
	return formatUUID(b)
}

// decodeID returns the address an id of user encodes, or false.
func (w *World) decodeID(user int, id string) (idAddr, bool) {
	b, ok := parseUUID(id)
	if !ok || b[6]&0xf0 != 0x40 || b[8]&0xc0 != 0x80 {
		return idAddr{}, false
	}
	m := w.mask(user, b[:])
	var p uint64
	for i := 0; i < 6; i++ {
		p = p<<8 | uint64(b[i]^byte(m>>(40-8*i)))
	}
	t1, t2 := w.tag(user, p)
	if b[6] != 0x40|byte(t2&0x0f) || b[7] != byte(t1>>56) || b[8] != 0x80|byte(t2>>4&0x3f) {
		return idAddr{}, false
	}
	for i := 0; i < 7; i++ {
		if b[9+i] != byte(t1>>(48-8*i)) {
			return idAddr{}, false
		}
	}
	return idAddr{dn: int(p>>24) - dayBias, coll: byte(p >> 16), item: int(p & 0xffff)}, true
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

func parseUUID(s string) ([16]byte, bool) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return b, false
	}
	return b, true
}

// ouraUserID derives a personal_info id in the dashed-hex style of real ones
// (groups of 9, 3, 9, 6, 3 and 1 hex digits).
func (w *World) ouraUserID(user int) string {
	groups := []int{9, 3, 9, 6, 3, 1}
	const digits = "0123456789abcdef"
	h := hash4(uint64(w.cfg.Seed), uint64(user), 0, stProfile)
	out := make([]byte, 0, 36)
	n := 0
	for gi, g := range groups {
		if gi > 0 {
			out = append(out, '-')
		}
		for i := 0; i < g; i++ {
			if n%16 == 0 && n > 0 {
				h = mix64(h + uint64(n))
			}
			out = append(out, digits[(h>>(4*(n%16)))&0xf])
			n++
		}
	}
	return string(out)
}
