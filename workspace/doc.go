// Package workspace keeps images and gives each container its root filesystem.
//
// Images are layered and content-addressed, as the OCI image spec and Docker store them:
//
//	<root>/image/layers/sha256/<diff id>/diff   a layer, unpacked once, shared read-only
//	<root>/image/layers/sha256/<diff id>/tar-split.json.gz  what puts its tar together again
//	<root>/image/configs/sha256/<image id>.json an OCI image config; its sha256 is the image id
//	<root>/image/repositories.json              tags: "busybox:latest" -> image id
//	<root>/image/init/<digest>/                 an init layer: mount points an image lacks
//
// A layer's diff id is the sha256 of its uncompressed tar; an image lists its layers' diff ids
// in rootfs.diff_ids, bottom first. On disk a layer keeps deletions in overlayfs's own form (a
// 0/0 character device for a deleted file, the trusted.overlay.opaque xattr for a directory
// whose lower contents are hidden); in tars they use the OCI form (.wh.NAME, .wh..wh..opq).
// whiteout.go is the one place that converts between the two. A layer's tar is kept as
// tar-split's record of it (tarsplit.go): save and push write the very bytes it came as, so
// an image keeps its id wherever it goes.
//
// A Driver stacks a container's writable layer over an image's layers: overlay (the default:
// the layers become lowerdirs, never a flattened copy), aufs (where the kernel has it) and vfs
// (a plain copy, when neither exists). Drivers only prepare directories and describe the mount;
// the container's init performs it inside the container's mount namespace, so a container's
// root filesystem is never mounted on the host and cannot leak there. Between the image and the
// container's layer, overlay puts an init layer (initlayer.go) with the mount points every
// container gets and the image lacks (/etc/hosts, /etc/resolv.conf, ...), as Docker does:
// they are then not the container's changes, and a commit does not keep them.
package workspace
