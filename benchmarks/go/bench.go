// The nats.go side of natsobj's benchmark suite: the jetstream object store (nats.go
// v1.56.0) timed inside Go.
//
//	gobench SPEC_JSON
//
// SPEC_JSON is a benchmarks._common.WorkerSpec. Prints one JSON line on stdout, in the shape
// the Python workers print: {"baseline_rss_kib": N, "ops": {op: {"seconds": [...], "bytes",
// "count", "peak_rss_kib", "extra"}}}. Start-up, connecting and loading the test data happen
// before the baseline and are not timed.
//
// Ops on large objects: put (Put from a []byte in memory), put_file (Put from the open data
// file), get (Get streamed, bytes counted), get_bytes (GetBytes), get_file (Get copied into
// a file). Small objects: put_seq/get_seq one at a time, put_conc/get_conc with `concurrency`
// goroutines taking the next name in turn. Every get checks the byte count; nats.go checks
// the SHA-256 digest at the end of each read.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type spec struct {
	Peer        string   `json:"peer"`
	URL         string   `json:"url"`
	Bucket      string   `json:"bucket"`
	Ops         []string `json:"ops"`
	Size        int64    `json:"size"`
	ChunkSize   uint32   `json:"chunk_size"`
	Repeats     int      `json:"repeats"`
	DataFile    string   `json:"data_file"`
	OutDir      string   `json:"out_dir"`
	Count       int      `json:"count"`
	Concurrency int      `json:"concurrency"`
	ServerPID   int      `json:"server_pid"`
}

type opResult struct {
	Seconds    []float64          `json:"seconds"`
	Bytes      int64              `json:"bytes"`
	Count      int                `json:"count"`
	PeakRSSKiB int64              `json:"peak_rss_kib"`
	Extra      map[string]float64 `json:"extra"`
}

type output struct {
	BaselineRSSKiB int64                `json:"baseline_rss_kib"`
	Ops            map[string]*opResult `json:"ops"`
}

// statusKiB reads one "Key: N kB" line of /proc/self/status (0 when unknown).
func statusKiB(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				n, _ := strconv.ParseInt(fields[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// resetPeakRSS starts measuring peak RSS from now (as benchmarks/_common.py does) and
// returns the baseline.
func resetPeakRSS() int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return statusKiB("VmHWM")
	}
	return statusKiB("VmRSS")
}

func ownCPUS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// serverCPUS is the CPU time of the server process, from /proc (0 when unknown).
func serverCPUS(pid int) float64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	text := string(data)
	fields := strings.Fields(text[strings.LastIndex(text, ")")+1:])
	if len(fields) < 13 {
		return 0
	}
	user, _ := strconv.ParseFloat(fields[11], 64)
	sys, _ := strconv.ParseFloat(fields[12], 64)
	return (user + sys) / 100 // USER_HZ
}

func timed(s *spec, result *opResult, run func(i int) error) error {
	for i := 0; i < s.Repeats; i++ {
		cpu, server := ownCPUS(), serverCPUS(s.ServerPID)
		start := time.Now()
		if err := run(i); err != nil {
			return err
		}
		result.Seconds = append(result.Seconds, time.Since(start).Seconds())
		result.Extra["client_cpu_s"] += ownCPUS() - cpu
		result.Extra["server_cpu_s"] += serverCPUS(s.ServerPID) - server
	}
	result.PeakRSSKiB = statusKiB("VmHWM")
	return nil
}

func newResult(size int64, count int) *opResult {
	return &opResult{Seconds: []float64{}, Bytes: size, Count: count, Extra: map[string]float64{}}
}

func expect(got, want int64, what string) error {
	if got != want {
		return fmt.Errorf("%s: %d bytes of %d", what, got, want)
	}
	return nil
}

// getInto reads an object streamed into w; the byte count.
func getInto(ctx context.Context, store jetstream.ObjectStore, name string, w io.Writer) (int64, error) {
	result, err := store.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	defer result.Close()
	n, err := io.Copy(w, result)
	if err != nil {
		return n, err
	}
	return n, result.Error()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gobench SPEC_JSON")
		os.Exit(2)
	}
	var s spec
	if err := json.Unmarshal([]byte(os.Args[1]), &s); err != nil {
		fmt.Fprintln(os.Stderr, "bad spec:", err)
		os.Exit(2)
	}
	out, err := run(&s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func run(s *spec) (*output, error) {
	nc, err := nats.Connect(s.URL, nats.Timeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	store, err := js.ObjectStore(ctx, s.Bucket)
	if err != nil {
		return nil, err
	}
	first := s.Ops[0]
	if strings.HasSuffix(first, "_seq") || strings.HasSuffix(first, "_conc") {
		return runSmall(ctx, s, store)
	}
	return runLarge(ctx, s, store)
}

func (s *spec) meta(name string) jetstream.ObjectMeta {
	return jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: s.ChunkSize}}
}

func runLarge(ctx context.Context, s *spec, store jetstream.ObjectStore) (*output, error) {
	var data []byte
	for _, op := range s.Ops {
		if op == "put" {
			var err error
			if data, err = os.ReadFile(s.DataFile); err != nil {
				return nil, err
			}
		}
	}
	baseline := resetPeakRSS()
	outFile := filepath.Join(s.OutDir, fmt.Sprintf("go-%d.out", os.Getpid()))
	results := map[string]*opResult{}
	for _, op := range s.Ops {
		result := newResult(s.Size, 0)
		var body func(i int) error
		switch op {
		case "put":
			body = func(i int) error {
				_, err := store.Put(ctx, s.meta(fmt.Sprintf("obj-%d", i)), bytes.NewReader(data))
				return err
			}
		case "put_file":
			body = func(i int) error {
				f, err := os.Open(s.DataFile)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = store.Put(ctx, s.meta(fmt.Sprintf("file-%d", i)), f)
				return err
			}
		case "get":
			body = func(int) error {
				n, err := getInto(ctx, store, "obj-0", io.Discard)
				if err != nil {
					return err
				}
				return expect(n, s.Size, "get")
			}
		case "get_bytes":
			body = func(int) error {
				got, err := store.GetBytes(ctx, "obj-0")
				if err != nil {
					return err
				}
				return expect(int64(len(got)), s.Size, "get_bytes")
			}
		case "get_file":
			body = func(int) error {
				return getFile(ctx, store, outFile, s.Size)
			}
		default:
			return nil, fmt.Errorf("go: unknown op %s", op)
		}
		if err := timed(s, result, body); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		results[op] = result
	}
	return &output{BaselineRSSKiB: baseline, Ops: results}, nil
}

func getFile(ctx context.Context, store jetstream.ObjectStore, path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	n, err := getInto(ctx, store, "obj-0", f)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := expect(n, size, "get into a file"); err != nil {
		return err
	}
	return expect(st.Size(), size, "get into a file")
}

// pool runs op on every name, concurrency at a time, each worker taking the next name.
func pool(names []string, concurrency int, op func(string) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for w := 0; w < min(concurrency, len(names)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					return
				}
				if err := op(names[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func runSmall(ctx context.Context, s *spec, store jetstream.ObjectStore) (*output, error) {
	data := make([]byte, s.Size)
	if _, err := rand.Read(data); err != nil {
		return nil, err
	}
	baseline := resetPeakRSS()
	results := map[string]*opResult{}
	for _, op := range s.Ops {
		kind, mode, _ := strings.Cut(op, "_")
		concurrency := s.Concurrency
		if mode == "seq" {
			concurrency = 1
		}
		fn := func(name string) error {
			_, err := store.Put(ctx, s.meta(name), bytes.NewReader(data))
			return err
		}
		if kind == "get" {
			fn = func(name string) error {
				got, err := store.GetBytes(ctx, name)
				if err != nil {
					return err
				}
				return expect(int64(len(got)), s.Size, name)
			}
		}
		result := newResult(0, s.Count)
		body := func(r int) error {
			names := make([]string, s.Count)
			for i := range names {
				names[i] = fmt.Sprintf("%s%d-%d", mode, r, i)
			}
			return pool(names, concurrency, fn)
		}
		if err := timed(s, result, body); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		results[op] = result
	}
	return &output{BaselineRSSKiB: baseline, Ops: results}, nil
}
