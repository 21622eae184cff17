package ports

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/network"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{
		"host":   host,
		"server": server,
		"remote": remote,
	})
}

// portRules is your PortRules, its "not implemented" panic turned into an error.
func portRules(id, ip string, p network.PortMapping) (rules []network.Rule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return PortRules(id, ip, p), nil
}

func TestRuleSet(t *testing.T) {
	p := network.PortMapping{HostPort: 18011, ContainerPort: 80, Proto: "tcp"}
	rules, err := portRules("c0ffee", "10.77.11.2", p)
	if err != nil {
		t.Fatal(err)
	}
	chains := map[string]int{}
	for _, r := range rules {
		if r.Table != "nat" {
			t.Errorf("a rule in the %q table: DNAT lives in the nat table (HINTS.md, \"tables\")", r.Table)
		}
		chains[r.Chain]++
		args := strings.Join(r.Args, " ")
		if !strings.HasSuffix(args, "-m comment --comment mydocker:port:c0ffee") {
			t.Errorf("the rule %q does not end with the container's comment (HINTS.md, \"comment\")", args)
		}
		if !strings.Contains(args, "10.77.11.2:80") {
			t.Errorf("the rule %q does not send the packets to the container's 10.77.11.2:80", args)
		}
	}
	if chains["PREROUTING"] != 1 || chains["OUTPUT"] != 1 || len(rules) != 2 {
		t.Errorf("the rules are in the chains %v, want one in PREROUTING (packets from elsewhere) and one in OUTPUT (the host's own) (HINTS.md, \"chains\")", chains)
	}
	again, _ := portRules("c0ffee", "10.77.11.2", p)
	if !reflect.DeepEqual(rules, again) {
		t.Errorf("two calls gave two rule sets: the engine deletes the rules by giving them again, so they must be the same")
	}
	// The destination: the host's own addresses, or the one HostIP names; never anywhere.
	for _, c := range []struct {
		p          network.PortMapping
		want, not  string
		what, hint string
	}{
		{p, "-m addrtype --dst-type LOCAL", "-d ", "every address of the host, and only the host's", "destination"},
		{network.PortMapping{HostIP: "127.0.0.1", HostPort: 18012, ContainerPort: 80, Proto: "tcp"}, "-d 127.0.0.1", "addrtype", "127.0.0.1 alone", "HostIP"},
	} {
		rules, err := portRules("c0ffee", "10.77.11.2", c.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			args := " " + strings.Join(r.Args, " ") + " "
			if !strings.Contains(args, " "+c.want+" ") || strings.Contains(args, " "+c.not) {
				t.Errorf("the rule %q for %s must match %s (%s) (HINTS.md, %q)", strings.TrimSpace(args), c.p, c.what, c.want, c.hint)
			}
		}
	}
}

// TestPublish publishes two ports of a container with your rules, in a network namespace of
// the test's own (with its own iptables tables), then connects to them from the "host", and
// from a "remote" machine: another network namespace, on a veth to the host.
func TestPublish(t *testing.T) {
	labtest.RequiresRoot(t)
	for _, tool := range []string{"ip", "iptables", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s: apt-get install iproute2 iptables", tool)
		}
	}
	out, err := labtest.Child("host", unix.CLONE_NEWNET|unix.CLONE_NEWNS, "LAB_ROOT="+t.TempDir())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

const id = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

func host() error {
	network.Seams.PortRules = PortRules
	if err := sh("ip link set lo up"); err != nil {
		return err
	}
	m, err := network.Open(os.Getenv("LAB_ROOT"))
	if err != nil {
		return err
	}
	n, err := m.Create("labnet", network.CreateOptions{Driver: "bridge", Subnet: "10.77.11.0/24"})
	if err != nil {
		return fmt.Errorf("test setup: create the network: %w", err)
	}
	srv, err := labtest.Spawn("server", unix.CLONE_NEWNET)
	if err != nil {
		return fmt.Errorf("test setup: %w", err)
	}
	defer srv.Stop()
	far, err := labtest.Spawn("remote", unix.CLONE_NEWNET)
	if err != nil {
		return fmt.Errorf("test setup: %w", err)
	}
	defer far.Stop()
	pid := strconv.Itoa(far.Process.Pid)
	if err := sh("ip link add lab-h type veth peer name lab-r && ip link set lab-r netns " + pid +
		" && ip addr add 198.51.100.1/24 dev lab-h && ip link set lab-h up" +
		" && nsenter -t " + pid + " -n sh -c 'ip addr add 198.51.100.2/24 dev lab-r && ip link set lab-r up && ip link set lo up'"); err != nil {
		return err
	}
	ports := []network.PortMapping{
		{HostPort: 18011, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 18012, ContainerPort: 80, Proto: "tcp"},
	}
	if _, err := m.Connect(n.Name, id, srv.Process.Pid, network.Attachment{Ports: ports, DefaultRoute: true}); err != nil {
		return fmt.Errorf("publish the ports: %w", err)
	}
	var failed []string
	check := func(from, addr string, want bool, hint string) {
		var got string
		if from == "host" {
			got = dial(addr)
		} else {
			got = far.Ask(addr)
		}
		if (got == "hello") != want {
			if want {
				failed = append(failed, fmt.Sprintf("from the %s, %s did not reach the container (%s) (HINTS.md, %q)", from, addr, got, hint))
			} else {
				failed = append(failed, fmt.Sprintf("from the %s, %s reached the container: the port is published on 127.0.0.1 only (HINTS.md, %q)", from, addr, hint))
			}
		}
	}
	check("host", "127.0.0.1:18011", true, "OUTPUT")
	check("host", "10.77.11.1:18011", true, "OUTPUT")
	// Without an OUTPUT rule that works, 127.0.0.1:18012 fails for the same reason.
	hint := "HostIP"
	if len(failed) > 0 {
		hint = "OUTPUT"
	}
	check("host", "127.0.0.1:18012", true, hint)
	check("remote machine", "198.51.100.1:18011", true, "PREROUTING")
	check("remote machine", "198.51.100.1:18012", false, "HostIP")
	if err := m.DisconnectAll(id, false); err != nil {
		failed = append(failed, fmt.Sprintf("unpublish the ports: %v", err))
	}
	if rules, _ := exec.Command("iptables-save", "-t", "nat").Output(); strings.Contains(string(rules), "mydocker:port:") {
		failed = append(failed, "rules of the container are left after it is gone: the engine deletes exactly the rules PortRules gives (HINTS.md, \"exactly\")")
	}
	if err := m.Remove(n.Name); err != nil {
		failed = append(failed, fmt.Sprintf("remove the network: %v", err))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return nil
}

// server stands for the container: it answers "hello" on port 80.
func server() error {
	l, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		fmt.Fprintln(c, "hello")
		c.Close()
	}
}

// remote stands for another machine: it dials each address it reads, and says what it got.
func remote() error {
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(dial(in.Text()))
	}
	return nil
}

func dial(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "connected, then " + err.Error()
	}
	return strings.TrimSpace(line)
}

func sh(script string) error {
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		return fmt.Errorf("test setup: %s: %v\n%s", script, err, out)
	}
	return nil
}
