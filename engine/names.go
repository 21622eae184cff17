package engine

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"sync"
)

// validName is Docker's rule for container names, compiled on first use (see workspace's
// reference.go for why not at start-up).
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// ValidateName explains why a --name is refused.
func ValidateName(name string) error {
	if !validName().MatchString(name) {
		return fmt.Errorf("invalid container name (%s): only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two of them", name)
	}
	return nil
}

var (
	adjectives = []string{"admiring", "brave", "clever", "dazzling", "eager", "focused", "gifted", "happy",
		"jolly", "keen", "lucid", "modest", "nifty", "optimistic", "quirky", "serene", "tender", "vibrant", "wizardly", "zealous"}
	surnames = []string{"babbage", "curie", "dijkstra", "euler", "feynman", "goldberg", "hopper", "kare",
		"lamport", "lovelace", "mccarthy", "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak", "yalow"}
)

// randomName returns a Docker-style "adjective_surname" name.
func randomName() string {
	pick := func(list []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		return list[n.Int64()]
	}
	return pick(adjectives) + "_" + pick(surnames)
}
