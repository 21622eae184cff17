// Package testcontainers is how a project's test suite uses a Docker engine, through
// testcontainers-go: mydocker's API tests run it against mydocker system service
// (DOCKER_HOST), with Ryuk, the reaper whose image cannot be pulled here, disabled.
package testcontainers

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// A busybox httpd, waited for by its log line and its listening port, its page read through
// the port the engine published, then terminated.
func TestBusyboxHTTPD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        "busybox",
			Cmd:          []string{"sh", "-c", "mkdir -p /www && echo hello-from-httpd > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www"},
			ExposedPorts: []string{"8080/tcp"},
			WaitingFor: wait.ForAll(
				wait.ForLog("serving"),
				wait.ForListeningPort("8080/tcp"),
			).WithDeadline(time.Minute),
		},
		Started: true,
	})
	if err != nil {
		t.Fatalf("start the container: %v", err)
	}
	defer func() {
		if err := c.Terminate(context.Background()); err != nil {
			t.Errorf("terminate: %v", err)
		}
	}()
	url, err := c.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		t.Fatalf("the mapped port: %v", err)
	}
	resp, err := http.Get(url + "/index.html")
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "hello-from-httpd\n" {
		t.Fatalf("GET %s: %q, %v", url, body, err)
	}
	t.Logf("GET %s: %q", url, body)
}
