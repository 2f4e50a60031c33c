package normkit

import (
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// AppendDatetime appends t as health.DatetimeLayout does
// ("2006-01-02T15:04:05.000000Z07:00": microseconds truncated, "Z" for a
// zero offset, the offset's seconds dropped), several times faster than
// AppendFormat, which matters at a few hundred samples per document.
func AppendDatetime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, health.DatetimeLayout)
	}
	h, mi, sec := t.Clock()
	_, off := t.Zone()
	b = append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.')
	us := t.Nanosecond() / 1000
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	if off == 0 {
		return append(b, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	oh, om := off/3600, off/60%60
	return append(b, sign, byte('0'+oh/10), byte('0'+oh%10), ':', byte('0'+om/10), byte('0'+om%10))
}

// Stamps formats many instants into one backing string: a day of samples
// costs two allocations instead of one per sample. The zero value is ready
// to use.
type Stamps struct {
	buf  []byte
	ends []int
}

// NewStamps makes room for n instants.
func NewStamps(n int) Stamps {
	return Stamps{buf: make([]byte, 0, n*32), ends: make([]int, 0, n)}
}

// Add formats t as AppendDatetime does.
func (b *Stamps) Add(t time.Time) {
	b.buf = AppendDatetime(b.buf, t)
	b.ends = append(b.ends, len(b.buf))
}

// Strings returns the instants added, in order.
func (b *Stamps) Strings() []string {
	s := string(b.buf)
	out := make([]string, len(b.ends))
	start := 0
	for i, e := range b.ends {
		out[i] = s[start:e]
		start = e
	}
	return out
}
