package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watcher collects a nats.go watcher's events (not its nil end-of-initial marker) until
// they are taken.
type watcher struct {
	w      jetstream.ObjectWatcher
	mu     sync.Mutex
	events []*jetstream.ObjectInfo
	wake   chan struct{} // closed and replaced whenever an event arrives
	done   chan struct{}
}

func newWatcher(w jetstream.ObjectWatcher) *watcher {
	ow := &watcher{w: w, wake: make(chan struct{}), done: make(chan struct{})}
	go ow.collect()
	return ow
}

func (ow *watcher) collect() {
	defer close(ow.done)
	for info := range ow.w.Updates() {
		if info == nil {
			continue
		}
		ow.mu.Lock()
		ow.events = append(ow.events, info)
		close(ow.wake)
		ow.wake = make(chan struct{})
		ow.mu.Unlock()
	}
}

// take returns the first count events not taken yet, waiting at most timeout for them.
func (ow *watcher) take(count int, timeout time.Duration) ([]*jetstream.ObjectInfo, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ow.mu.Lock()
		have, wake := len(ow.events), ow.wake
		if have >= count {
			taken := ow.events[:count:count]
			ow.events = ow.events[count:]
			ow.mu.Unlock()
			return taken, nil
		}
		ow.mu.Unlock()
		select {
		case <-wake:
		case <-deadline.C:
			return nil, fmt.Errorf("%d of %d watch events in %v", have, count, timeout)
		}
	}
}

// stop unsubscribes; nats.go then closes the updates channel, which ends collect.
func (ow *watcher) stop() {
	_ = ow.w.Stop()
	select {
	case <-ow.done:
	case <-time.After(2 * time.Second):
	}
}

func (p *peer) handleWatch(ctx context.Context, req *request) (any, error) {
	if req.Op == "watch" {
		store, err := p.open(ctx, req.Bucket)
		if err != nil {
			return nil, err
		}
		// Not bound to ctx, which ends with this request: the watcher lives until watch-stop.
		w, err := store.Watch(context.Background())
		if err != nil {
			return nil, err
		}
		id := p.next
		p.next++
		p.watchers[id] = newWatcher(w)
		return map[string]int64{"watch": id}, nil
	}
	ow, ok := p.watchers[req.Watch]
	if !ok {
		return nil, fmt.Errorf("no watcher %d", req.Watch)
	}
	if req.Op == "watch-stop" {
		ow.stop()
		delete(p.watchers, req.Watch)
		return nil, nil
	}
	return ow.take(req.Count, time.Duration(req.TimeoutMS)*time.Millisecond)
}
