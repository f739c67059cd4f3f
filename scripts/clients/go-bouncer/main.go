// Command go-bouncer is a minimal bouncer on CrowdSec's own Go bouncer library
// (github.com/crowdsecurity/go-cs-bouncer), used by hivewall's end-to-end tests.
//
//	go-bouncer stream -url URL -key KEY [-every 1s]
//	    StreamBouncer: prints one JSON line per pull, {"new":[...],"deleted":[...]}
//	    (decisions as the library decoded them), until SIGTERM/SIGINT.
//	go-bouncer live -url URL -key KEY IP
//	    LiveBouncer: prints the decisions for IP as one JSON line (null when none).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/crowdsecurity/crowdsec/pkg/models"
	csbouncer "github.com/crowdsecurity/go-cs-bouncer"
)

const userAgent = "hivewall-e2e-go-bouncer/v0.0.14"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-bouncer stream|live -url URL -key KEY [...]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	url := fs.String("url", "", "LAPI URL (http://127.0.0.1:8080/)")
	key := fs.String("key", "", "bouncer API key")
	every := fs.String("every", "1s", "stream: update_frequency")
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "stream":
		err = stream(*url, *key, *every)
	case "live":
		if fs.NArg() != 1 {
			err = fmt.Errorf("live needs one IP")
		} else {
			err = live(*url, *key, fs.Arg(0))
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-bouncer:", err)
		os.Exit(1)
	}
}

func stream(url, key, every string) error {
	b := &csbouncer.StreamBouncer{
		APIKey:         key,
		APIUrl:         url,
		TickerInterval: every,
		UserAgent:      userAgent,
	}
	if err := b.Init(); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	go b.Run(ctx)
	enc := json.NewEncoder(os.Stdout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case data, ok := <-b.Stream:
			if !ok {
				return fmt.Errorf("decision stream closed (LAPI error, see above)")
			}
			out := struct {
				New     []*models.Decision `json:"new"`
				Deleted []*models.Decision `json:"deleted"`
			}{New: data.New, Deleted: data.Deleted}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
	}
}

func live(url, key, ip string) error {
	b := &csbouncer.LiveBouncer{APIKey: key, APIUrl: url, UserAgent: userAgent}
	if err := b.Init(); err != nil {
		return err
	}
	resp, err := b.Get(ip)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(resp)
}
