package daemon

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// TestJournalDropRecord sends a drop record to a real journald and reads it
// back with journalctl. It needs a journal that may be written to, so it
// runs only under test/journald.sh (a private journald in a throwaway mount
// namespace), which sets ZW_JOURNAL_TEST=1.
func TestJournalDropRecord(t *testing.T) {
	if os.Getenv("ZW_JOURNAL_TEST") != "1" {
		t.Skip("needs a private journald: run test/journald.sh")
	}
	if !JournalAvailable() {
		t.Fatal("ZW_JOURNAL_TEST=1 but no journal socket")
	}
	tag := "zwtest-j-" + time.Now().Format("150405.000000")
	d := control.Drop{
		Prefix: "zw:drop:no-flow-container ", Decided: "no-flow-container", Proto: "tcp", Direction: control.DirectionInternal,
		Src: control.DropSide{Kind: "container", Container: tag, ContainerID: "aaaa1111", Zone: "web", Addr: "172.30.0.2", Port: 40000},
		Dst: control.DropSide{Kind: "container", Container: "shop-db-1", ContainerID: "bbbb2222", Zone: "db", Addr: "172.30.0.3", Port: 5432},
	}
	JournalDrops{}.RecordDrop(d, 7)
	var entry map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command("journalctl", "--no-pager", "-o", "json", "ZONEWALL_SRC_CONTAINER="+tag).Output()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			if err := json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &entry); err != nil {
				t.Fatalf("journalctl -o json: %v\n%s", err, out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record never reached the journal (%v)", err)
		}
	}
	for k, v := range map[string]string{
		"SYSLOG_IDENTIFIER": "zonewall", "PRIORITY": "5", "ZONEWALL_EVENT": "drop",
		"ZONEWALL_FLOW": "web -> db tcp/5432", "ZONEWALL_DIRECTION": "internal", "ZONEWALL_REASON": "no-flow-container",
		"ZONEWALL_CONTAINER": tag, "ZONEWALL_ZONE": "web", "ZONEWALL_SRC_ZONE": "web", "ZONEWALL_DST_CONTAINER": "shop-db-1", "ZONEWALL_DST_ZONE": "db", "ZONEWALL_SUPPRESSED": "7",
	} {
		if entry[k] != v {
			t.Errorf("%s = %v, want %q", k, entry[k], v)
		}
	}
	if msg, _ := entry["MESSAGE"].(string); !strings.HasPrefix(msg, "dropped web -> db tcp/5432: no-flow-container") {
		t.Errorf("MESSAGE = %q", msg)
	}
}
