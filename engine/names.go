package engine

import (
	"crypto/rand"
	"math/big"

	"github.com/mydocker/mydocker/internal/names"
)

// ValidateName explains why a container name is refused (Docker's rule, internal/names).
func ValidateName(name string) error { return names.Validate("container", name) }

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
