// Package compat writes the Engine API's types as the clients of older API versions read them:
// the fields a newer version of the API dropped, given back. The command line writes what
// Docker 20.10's (API 1.41) did, so that the templates of users' scripts keep working; the API
// server writes what the version a client asked for had. It is moby's own way (its compat
// package adds fields back to a response for an older version).
package compat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	mobyctr "github.com/moby/moby/api/types/container"
)

// Fields is a response as JSON objects, to add fields to.
type Fields map[string]any

// Container is a container's inspect for API version (e.g. "1.41"; "" for the newest), with the
// engine's own State.CleanupError when there is one.
func Container(resp *mobyctr.InspectResponse, version, cleanupError string) (Fields, error) {
	f, err := toFields(resp)
	if err != nil {
		return nil, err
	}
	if cleanupError != "" {
		if state, ok := f["State"].(map[string]any); ok {
			state["CleanupError"] = cleanupError
		}
	}
	if before(version, "1.52") && resp.NetworkSettings != nil {
		// Until 1.52, NetworkSettings also named the default bridge network's endpoint at its
		// top: {{.NetworkSettings.IPAddress}} in many scripts.
		ns, _ := f["NetworkSettings"].(map[string]any)
		legacy := map[string]any{"Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
			"LinkLocalIPv6PrefixLen": 0, "SandboxKey": "", "SecondaryIPAddresses": nil, "SecondaryIPv6Addresses": nil,
			"EndpointID": "", "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
			"IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": ""}
		if ep := resp.NetworkSettings.Networks["bridge"]; ep != nil {
			legacy["EndpointID"], legacy["IPPrefixLen"] = ep.EndpointID, ep.IPPrefixLen
			if ep.IPAddress.IsValid() {
				legacy["IPAddress"] = ep.IPAddress.String()
			}
			if ep.Gateway.IsValid() {
				legacy["Gateway"] = ep.Gateway.String()
			}
			legacy["MacAddress"] = ep.MacAddress.String()
		}
		for k, v := range legacy {
			if _, ok := ns[k]; !ok {
				ns[k] = v
			}
		}
	}
	return f, nil
}

// toFields is v as JSON objects.
func toFields(v any) (Fields, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers kept as written: an int64 is not a float64
	var f Fields
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	return f, nil
}

// before reports whether API version v is older than w ("" is the newest).
func before(v, w string) bool {
	if v == "" {
		return false
	}
	return versionLess(v, w)
}

func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// CLIVersion is the API version the command line writes its JSON as: Docker 20.10's.
const CLIVersion = "1.41"
