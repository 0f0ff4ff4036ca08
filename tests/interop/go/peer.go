package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// statusJSON is a bucket's status as the protocol has it.
type statusJSON struct {
	Bucket      string `json:"bucket"`
	Description string `json:"description"`
	Sealed      bool   `json:"sealed"`
	Storage     string `json:"storage"`
	Replicas    int    `json:"replicas"`
	Size        uint64 `json:"size"`
}

func statusOf(st jetstream.ObjectStoreStatus) statusJSON {
	storage := "file"
	if st.Storage() == jetstream.MemoryStorage {
		storage = "memory"
	}
	return statusJSON{
		Bucket:      st.Bucket(),
		Description: st.Description(),
		Sealed:      st.Sealed(),
		Storage:     storage,
		Replicas:    st.Replicas(),
		Size:        st.Size(),
	}
}

// objectMeta is the protocol's meta as nats.go takes it; absent maps stay nil, so that
// nats.go's omitempty leaves them out of the stored JSON.
func objectMeta(m meta) jetstream.ObjectMeta {
	om := jetstream.ObjectMeta{Name: m.Name, Description: m.Description, Metadata: m.Metadata}
	if len(m.Headers) > 0 {
		om.Headers = nats.Header{}
		for key, values := range m.Headers {
			om.Headers[key] = append([]string(nil), values...)
		}
	}
	if len(om.Metadata) == 0 {
		om.Metadata = nil
	}
	return om
}

type peer struct {
	js       jetstream.JetStream
	watchers map[int64]*watcher
	next     int64
}

func newPeer(js jetstream.JetStream) *peer {
	return &peer{js: js, watchers: map[int64]*watcher{}, next: 1}
}

func (p *peer) stop() {
	for _, w := range p.watchers {
		w.stop()
	}
}

func (p *peer) open(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	return p.js.ObjectStore(ctx, bucket)
}

func (p *peer) status(ctx context.Context, bucket string) (any, error) {
	os, err := p.open(ctx, bucket)
	if err != nil {
		return nil, err
	}
	st, err := os.Status(ctx)
	if err != nil {
		return nil, err
	}
	return statusOf(st), nil
}

func (p *peer) handle(ctx context.Context, req *request) (any, error) {
	switch req.Op {
	case "create":
		cfg := jetstream.ObjectStoreConfig{Bucket: req.Bucket, Description: req.Description}
		if _, err := p.js.CreateObjectStore(ctx, cfg); err != nil {
			return nil, err
		}
		return p.status(ctx, req.Bucket)
	case "status":
		return p.status(ctx, req.Bucket)
	case "seal":
		os, err := p.open(ctx, req.Bucket)
		if err != nil {
			return nil, err
		}
		if err := os.Seal(ctx); err != nil {
			return nil, err
		}
		return p.status(ctx, req.Bucket)
	case "put":
		return p.put(ctx, req)
	case "get":
		return nil, p.get(ctx, req)
	case "watch", "watch-take", "watch-stop":
		return p.handleWatch(ctx, req)
	}
	os, err := p.open(ctx, req.Bucket)
	if err != nil {
		return nil, err
	}
	return p.handleObject(ctx, os, req)
}

// handleObject runs the verbs on one object or listing of an open bucket.
func (p *peer) handleObject(ctx context.Context, os jetstream.ObjectStore, req *request) (any, error) {
	switch req.Op {
	case "info":
		var opts []jetstream.GetObjectInfoOpt
		if req.ShowDeleted {
			opts = append(opts, jetstream.GetObjectInfoShowDeleted())
		}
		return os.GetInfo(ctx, req.Name, opts...)
	case "list":
		infos, err := os.List(ctx)
		if errors.Is(err, jetstream.ErrNoObjectsFound) {
			return []*jetstream.ObjectInfo{}, nil
		}
		return infos, err
	case "delete":
		return nil, os.Delete(ctx, req.Name)
	case "update":
		return nil, os.UpdateMeta(ctx, req.Name, objectMeta(req.Meta))
	case "link":
		target, err := p.open(ctx, req.TargetBucket)
		if err != nil {
			return nil, err
		}
		info, err := target.GetInfo(ctx, req.Target)
		if err != nil {
			return nil, err
		}
		return os.AddLink(ctx, req.Name, info)
	case "link-bucket":
		target, err := p.open(ctx, req.TargetBucket)
		if err != nil {
			return nil, err
		}
		return os.AddBucketLink(ctx, req.Name, target)
	}
	return nil, fmt.Errorf("unknown op %q", req.Op)
}

func (p *peer) put(ctx context.Context, req *request) (any, error) {
	store, err := p.open(ctx, req.Bucket)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(req.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	om := objectMeta(req.Meta)
	if req.ChunkSize > 0 {
		om.Opts = &jetstream.ObjectMetaOptions{ChunkSize: req.ChunkSize}
	}
	return store.Put(ctx, om, f)
}

func (p *peer) get(ctx context.Context, req *request) error {
	store, err := p.open(ctx, req.Bucket)
	if err != nil {
		return err
	}
	result, err := store.Get(ctx, req.Name)
	if err != nil {
		return err
	}
	defer result.Close()
	out, err := os.Create(req.Out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, result); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return result.Error()
}
