// The nats.go object store (github.com/nats-io/nats.go/jetstream, v1.56.0) as a peer of
// natsobj's conformance suite.
//
//	gopeer --server URL
//
// It speaks the line protocol of tests/interop/peers/process_peer.py, as the nats.js peer
// (../js/peer.mjs) does: one JSON request per line on stdin, one JSON answer per request on
// stdout, in order; it exits at the end of stdin. One connection serves every request.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// callTimeout bounds every request; the Python side gives up after 30 s.
const callTimeout = 25 * time.Second

// maxLine is the longest request line read (requests carry file names, not bytes).
const maxLine = 16 * 1024 * 1024

// JetStream's err_code for a write to a sealed stream ("invalid operation on sealed stream").
const sealedStream = 10109

type request struct {
	ID           int64  `json:"id"`
	Op           string `json:"op"`
	Bucket       string `json:"bucket"`
	Description  string `json:"description"`
	Name         string `json:"name"`
	Meta         meta   `json:"meta"`
	File         string `json:"file"`
	Out          string `json:"out"`
	ChunkSize    uint32 `json:"chunk_size"`
	ShowDeleted  bool   `json:"show_deleted"`
	Target       string `json:"target"`
	TargetBucket string `json:"target_bucket"`
	Watch        int64  `json:"watch"`
	Count        int    `json:"count"`
	TimeoutMS    int64  `json:"timeout_ms"`
}

type meta struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Headers     map[string][]string `json:"headers"`
	Metadata    map[string]string   `json:"metadata"`
}

type errorJSON struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

type answer struct {
	ID     *int64     `json:"id"`
	Result any        `json:"result"`
	Error  *errorJSON `json:"error,omitempty"`
}

func errorKind(err error) string {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound), errors.Is(err, jetstream.ErrUpdateMetaDeleted):
		return "not_found"
	case errors.Is(err, jetstream.ErrCantGetBucket):
		return "link_is_bucket"
	case errors.As(err, &apiErr) && apiErr.ErrorCode == sealedStream:
		return "sealed"
	}
	return "other"
}

func serve(in io.Reader, out io.Writer, p *peer) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64*1024), maxLine)
	enc := json.NewEncoder(out)
	for lines.Scan() {
		var req request
		var ans answer
		if err := json.Unmarshal(lines.Bytes(), &req); err != nil {
			ans.Error = &errorJSON{Kind: "other", Message: fmt.Sprintf("bad request: %v", err)}
		} else {
			ans.ID = &req.ID
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			result, err := p.handle(ctx, &req)
			cancel()
			if err != nil {
				ans.Error = &errorJSON{Kind: errorKind(err), Message: err.Error()}
			} else {
				ans.Result = result
			}
		}
		if err := enc.Encode(&ans); err != nil {
			return err
		}
	}
	return lines.Err()
}

func main() {
	server := flag.String("server", "", "the NATS server URL")
	flag.Parse()
	if *server == "" {
		fmt.Fprintln(os.Stderr, "usage: gopeer --server URL")
		os.Exit(2)
	}
	nc, err := nats.Connect(*server, nats.Timeout(5*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jetstream:", err)
		os.Exit(1)
	}
	p := newPeer(js)
	defer p.stop()
	if err := serve(os.Stdin, os.Stdout, p); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
