// httpload: the HTTP load generator of natsobj's gateway benchmarks (standard library only).
//
// Small requests: N requests, C at a time over C keep-alive connections, each to its own
// URL (the template's %d is the request's index), timed one by one:
//
//	httpload -method PUT -url 'http://127.0.0.1:5000/storage/v1/object/b/k%d' -n 2000 -c 64 -body-size 1024 -H 'Authorization: Bearer T'
//
// One large transfer: a PUT streams -file as the body, a GET reads the body and drops it:
//
//	httpload -method PUT -url http://127.0.0.1:5000/storage/v1/object/b/big -file data.bin
//
// It prints one JSON line: requests, failures, status counts, wall seconds, requests/s,
// bytes, p50/p99 latency (ms) and its own CPU seconds, so a run can show that the load
// generator was not the bottleneck. It stops after -n requests or -timeout, whichever first.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Requests int            `json:"requests"`
	Failures int            `json:"failures"`
	Status   map[string]int `json:"status"`
	Seconds  float64        `json:"seconds"`
	RPS      float64        `json:"rps"`
	Bytes    int64          `json:"bytes"`
	P50ms    float64        `json:"p50_ms"`
	P99ms    float64        `json:"p99_ms"`
	CPUs     float64        `json:"cpu_s"`
	FirstErr string         `json:"first_error,omitempty"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	method := flag.String("method", "GET", "GET, PUT or POST")
	url := flag.String("url", "", "URL; with -n > 1, %d is the request's index")
	n := flag.Int("n", 1, "requests")
	c := flag.Int("c", 1, "requests at a time (and connections)")
	bodySize := flag.Int("body-size", 0, "random body of this many bytes per request")
	file := flag.String("file", "", "stream this file as the one request's body")
	contentType := flag.String("content-type", "application/octet-stream", "Content-Type of bodies")
	timeout := flag.Duration("timeout", 10*time.Minute, "stop after this long")
	var hdrs headers
	flag.Var(&hdrs, "H", "a request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" || *n < 1 || *c < 1 {
		fmt.Fprintln(os.Stderr, "usage: httpload -url URL [-method M] [-n N] [-c C] [-body-size B | -file F] [-H 'K: V']...")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	transport := &http.Transport{
		MaxIdleConns:        *c,
		MaxIdleConnsPerHost: *c,
		MaxConnsPerHost:     *c,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: transport}
	body := make([]byte, *bodySize)
	if _, err := rand.Read(body); err != nil {
		panic(err)
	}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, *n)
		status    = map[string]int{}
		failures  int
		firstErr  string
		moved     int64
		next      int64 = -1
	)
	one := func(i int) {
		target := *url
		if strings.Contains(target, "%d") {
			target = fmt.Sprintf(target, i)
		}
		var reader io.Reader
		var length int64 = -1
		if *file != "" {
			f, err := os.Open(*file)
			if err != nil {
				panic(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			reader, length = f, st.Size()
		} else if *bodySize > 0 {
			reader, length = bytes.NewReader(body), int64(*bodySize)
		}
		req, err := http.NewRequestWithContext(ctx, *method, target, reader)
		if err != nil {
			panic(err)
		}
		if length >= 0 {
			req.ContentLength = length
			req.Header.Set("Content-Type", *contentType)
		}
		for _, h := range hdrs {
			name, value, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		start := time.Now()
		resp, err := client.Do(req)
		var got int64
		code := "error"
		if err == nil {
			got, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = fmt.Sprint(resp.StatusCode)
		}
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		status[code]++
		if err != nil || code[0] != '2' {
			failures++
			if firstErr == "" {
				firstErr = fmt.Sprintf("%s %s: %v", code, target, err)
			}
			return
		}
		latencies = append(latencies, took)
		if *method == "GET" {
			moved += got
		} else if length > 0 {
			moved += length
		}
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *c && w < *n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(atomic.AddInt64(&next, 1))
				if i >= *n {
					return
				}
				one(i)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	done := len(latencies) + failures
	out := result{
		Requests: done,
		Failures: failures,
		Status:   status,
		Seconds:  elapsed,
		RPS:      float64(len(latencies)) / elapsed,
		Bytes:    moved,
		P50ms:    percentile(latencies, 0.50),
		P99ms:    percentile(latencies, 0.99),
		CPUs:     cpuSeconds() - cpu0,
		FirstErr: firstErr,
	}
	if ctx.Err() != nil && done < *n {
		out.FirstErr = fmt.Sprintf("stopped by -timeout after %d of %d requests; %s", done, *n, out.FirstErr)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
