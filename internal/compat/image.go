package compat

// Image is an image's inspect (the engine's ImageDetails: the API's response, with the fields
// its type no longer holds beside it) as API version ("" for the newest) wrote it. Each step
// is one of the API's changes, undone for the versions before it.
func Image(details any, version string) (Fields, error) {
	f, err := toFields(details)
	if err != nil {
		return nil, err
	}
	config, _ := f["Config"].(map[string]any)
	if config == nil {
		config = map[string]any{}
		f["Config"] = config
	}
	if !before(version, "1.45") { // Container and ContainerConfig went in 1.45
		delete(f, "Container")
		delete(f, "ContainerConfig")
	}
	if before(version, "1.52") {
		// Until 1.52 these were there when empty too, and Config had every field of a
		// container's config (1.50 dropped those no image sets).
		setDefaults(f, map[string]any{"Parent": "", "Comment": "", "DockerVersion": "", "Author": ""})
		setDefaults(config, imageConfigDefaults)
	}
	if before(version, "1.50") {
		setDefaults(config, containerOnlyDefaults)
	}
	if before(version, "1.45") {
		cc, _ := f["ContainerConfig"].(map[string]any)
		if cc == nil {
			cc = map[string]any{}
			f["ContainerConfig"] = cc
		}
		setDefaults(f, map[string]any{"Container": ""})
		setDefaults(cc, imageConfigDefaults)
		setDefaults(cc, containerOnlyDefaults)
	}
	if before(version, "1.44") { // VirtualSize, the same as Size, went in 1.44
		f["VirtualSize"] = f["Size"]
	}
	return f, nil
}

// imageConfigDefaults are the fields of an image's Config that 1.52 omits when empty.
var imageConfigDefaults = map[string]any{
	"Cmd": nil, "Entrypoint": nil, "Env": nil, "Labels": nil, "OnBuild": nil, "User": "", "Volumes": nil, "WorkingDir": "",
}

// containerOnlyDefaults are the fields of a container's config that an image's Config showed,
// always empty, until 1.50.
var containerOnlyDefaults = map[string]any{
	"Hostname": "", "Domainname": "", "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
	"Tty": false, "OpenStdin": false, "StdinOnce": false, "Image": "",
}

// setDefaults adds to f each field of defaults it lacks.
func setDefaults(f, defaults map[string]any) {
	for k, v := range defaults {
		if _, ok := f[k]; !ok {
			f[k] = v
		}
	}
}
