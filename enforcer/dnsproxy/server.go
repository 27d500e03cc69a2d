package dnsproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Serve answers queries on the UDP socket and the TCP listener (either may
// be nil) until ctx ends.
func (p *Proxy) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	var servers []*dns.Server
	errc := make(chan error, 2)
	start := func(s *dns.Server) {
		servers = append(servers, s)
		go func() { errc <- s.ActivateAndServe() }()
	}
	if udp != nil {
		start(&dns.Server{PacketConn: udp, Handler: p.handler(ctx, "udp"), MsgAcceptFunc: acceptQuery})
	}
	if tcp != nil {
		start(&dns.Server{Listener: tcp, Handler: p.handler(ctx, "tcp"), MsgAcceptFunc: acceptQuery,
			ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 5 * time.Second }})
	}
	if len(servers) == 0 {
		return errors.New("dnsproxy: nothing to serve")
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		for _, s := range servers {
			_ = s.Shutdown()
		}
		return err
	}
	for _, s := range servers {
		_ = s.ShutdownContext(context.Background())
	}
	return nil
}

// acceptQuery is miekg's default check (one question, a query, no answers)
// but rejects with FORMERR rather than dropping, so the client learns fast.
func acceptQuery(dh dns.Header) dns.MsgAcceptAction {
	return dns.DefaultMsgAcceptFunc(dh)
}

func (p *Proxy) handler(ctx context.Context, network string) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		src := addrOf(w.RemoteAddr())
		qctx, cancel := context.WithTimeout(ctx, 2*p.cfg.UpstreamTimeout*time.Duration(max(1, len(p.cfg.Upstreams))))
		defer cancel()
		resp, _ := p.Handle(qctx, src, req, network)
		if network == "udp" {
			// Fit the client's buffer; Truncate sets TC so it retries by TCP.
			size := dns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				size = max(int(opt.UDPSize()), dns.MinMsgSize)
			}
			resp.Truncate(size)
		}
		_ = w.WriteMsg(resp)
	})
}

func addrOf(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ap := v.AddrPort()
		return ap.Addr().Unmap()
	case *net.TCPAddr:
		ap := v.AddrPort()
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
