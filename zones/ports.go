package zones

import (
	"fmt"
	"strconv"
	"strings"
)

var protoNames = []string{"tcp", "udp", "icmp", "icmpv6"}

// parsePortSpec reads one `ports` item: tcp/443, udp/53, tcp/8000-8100, tcp,
// udp, icmp or icmpv6. The error text follows `ports: "ITEM": `.
func parsePortSpec(s string) (PortRange, error) {
	protoText, portText, hasPort := strings.Cut(s, "/")
	proto := Proto(protoText)
	switch proto {
	case ProtoTCP, ProtoUDP:
	case ProtoICMP, ProtoICMPv6:
		if hasPort {
			return PortRange{}, fmt.Errorf("%s takes no port", proto)
		}
		return PortRange{Proto: proto}, nil
	default:
		if _, err := strconv.Atoi(protoText); err == nil || strings.Contains(protoText, "-") && !hasPort {
			return PortRange{}, fmt.Errorf("missing protocol (write tcp/%s or udp/%s)", s, s)
		}
		return PortRange{}, fmt.Errorf("unknown protocol %q%s", protoText, suggest(protoText, protoNames))
	}
	if !hasPort {
		return PortRange{Proto: proto, From: 1, To: 65535}, nil
	}
	fromText, toText, isRange := strings.Cut(portText, "-")
	from, err := parsePort(fromText)
	if err != nil {
		return PortRange{}, err
	}
	to := from
	if isRange {
		if to, err = parsePort(toText); err != nil {
			return PortRange{}, err
		}
		if from > to {
			return PortRange{}, fmt.Errorf("reversed port range (%d > %d)", from, to)
		}
	}
	return PortRange{Proto: proto, From: from, To: to}, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a port number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port out of range 1-65535")
	}
	return uint16(n), nil
}

// String renders a port spec as written in zone files.
func (r PortRange) String() string {
	switch {
	case r.Proto == ProtoAny:
		return "all traffic"
	case r.Proto == ProtoICMP || r.Proto == ProtoICMPv6:
		return string(r.Proto)
	case r.From <= 1 && r.To == 65535:
		return string(r.Proto)
	case r.From == r.To:
		return fmt.Sprintf("%s/%d", r.Proto, r.From)
	default:
		return fmt.Sprintf("%s/%d-%d", r.Proto, r.From, r.To)
	}
}

// Covers reports whether this spec admits proto/port. ProtoAny as the spec
// admits everything. As the question, ProtoAny means "all traffic" and is
// admitted only by ProtoAny; for tcp/udp, port 0 means "every port" and is
// admitted only by a spec covering 1-65535. icmp/icmpv6 ignore the port.
func (r PortRange) Covers(proto Proto, port uint16) bool {
	if r.Proto == ProtoAny {
		return true
	}
	if r.Proto != proto {
		return false
	}
	if proto == ProtoICMP || proto == ProtoICMPv6 {
		return true
	}
	if port == 0 {
		return r.From <= 1 && r.To == 65535
	}
	return r.From <= port && port <= r.To
}

// FormatProtoPort renders a question the way deny reasons and tests print it.
func FormatProtoPort(proto Proto, port uint16) string {
	switch {
	case proto == ProtoAny:
		return "all traffic"
	case proto == ProtoICMP || proto == ProtoICMPv6 || port == 0:
		return string(proto)
	default:
		return fmt.Sprintf("%s/%d", proto, port)
	}
}

// ParseProtoPort reads a question such as "tcp/443", "udp/53", "icmp" or
// "tcp" (every port, port 0). The empty string means all traffic (ProtoAny).
// Ranges are not questions and are rejected.
func ParseProtoPort(s string) (Proto, uint16, error) {
	if s == "" {
		return ProtoAny, 0, nil
	}
	r, err := parsePortSpec(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	if r.From != r.To {
		if strings.Contains(s, "-") {
			return "", 0, fmt.Errorf("%q: give one port, not a range", s)
		}
		return r.Proto, 0, nil
	}
	return r.Proto, r.From, nil
}
