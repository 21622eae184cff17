package lab

// A chapter's program is its own names resolver (run again as mydocker-dns), so that built with
// -tags lab it answers with the learner's Lookup; mydocker's is the mydocker-dns beside it.
import _ "github.com/mydocker/mydocker/network/resolver"
