package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// WriteJSON writes v as the JSON body with status. When v cannot be encoded
// it writes nothing and returns the error, so that the caller answers in its
// provider's error format.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// ResponseBuffer collects a response so that it can be finished in one go:
// measured, compressed or, as a fault, cut short.
type ResponseBuffer struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

// NewResponseBuffer buffers a response whose headers go to header (those of
// the real response, so that what was set before routing stays).
func NewResponseBuffer(header http.Header) *ResponseBuffer {
	return &ResponseBuffer{header: header}
}

func (b *ResponseBuffer) Header() http.Header { return b.header }

func (b *ResponseBuffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *ResponseBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

// Status is the status written, 200 when the handler wrote none.
func (b *ResponseBuffer) Status() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// Body is the buffered body.
func (b *ResponseBuffer) Body() []byte { return b.buf.Bytes() }

// WriteBody sends status and body. With truncate it sends half the body
// and aborts the connection, leaving the client with fewer bytes than a
// Content-Length the caller set: the fault of a connection dropped
// mid-body.
func WriteBody(w http.ResponseWriter, status int, body []byte, truncate bool) {
	w.WriteHeader(status)
	if truncate && len(body) > 0 {
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write(body)
}

// FillDelivery fills the zero webhook delivery settings of a simulator's
// config: retries (0: 3; negative: none), the first backoff (200 ms), the
// timeout of one attempt (10 s) and the client (one with that timeout).
func FillDelivery(retries *int, backoff, timeout *time.Duration, client **http.Client) {
	if *retries == 0 {
		*retries = 3
	} else if *retries < 0 {
		*retries = 0
	}
	if *backoff <= 0 {
		*backoff = 200 * time.Millisecond
	}
	if *timeout <= 0 {
		*timeout = 10 * time.Second
	}
	if *client == nil {
		*client = &http.Client{Timeout: *timeout}
	}
}

// PostJSON POSTs body to url with the given extra headers, within timeout,
// and returns the answer's status. The answer's body is read (up to 64 KiB)
// and dropped, so that the connection can be reused.
func PostJSON(ctx context.Context, client *http.Client, timeout time.Duration, url string, body []byte, header map[string]string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}
