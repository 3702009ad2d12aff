package runtimes

import (
	"slices"
	"testing"
)

func TestParseRedisBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"100": 100, "1k": 1000, "1kb": 1024, "2m": 2e6, "2MB": 2 << 20, "1g": 1e9, "1Gb": 1 << 30, "0": 0, "3b": 3,
	} {
		if got, ok := ParseRedisBytes(in); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1gib", "1.5gb", "-1", "50%", "lots"} {
		if got, ok := ParseRedisBytes(bad); ok {
			t.Errorf("%q read as %d", bad, got)
		}
	}
}

func TestInspectServer(t *testing.T) {
	const mi = 1 << 20
	for _, tc := range []struct {
		name        string
		c           Container
		server      Server
		bytes       int64
		flag, path  string
		config      bool
		persistence bool
	}{
		{name: "official image, args", c: Container{Image: "redis:7", Args: []string{"--maxmemory", "2gb"}, ArgsPath: "a"},
			server: Redis, bytes: 2 << 30, flag: "2gb", path: "a[1]", persistence: true},
		{name: "no save, no aof", c: Container{Image: "registry.local/cache:1", Command: []string{"sh", "-c", `exec valkey-server --save "" --maxmemory 900mb`}, CommandPath: "c"},
			server: Redis, bytes: 900 * mi, flag: "900mb", path: "c[2]"},
		{name: "no save, aof on", c: Container{Image: "redis", Args: []string{"--save", "", "--appendonly", "yes", "--maxmemory", "1g"}},
			server: Redis, bytes: 1e9, flag: "1g", persistence: true},
		{name: "config file", c: Container{Image: "redis", Command: []string{"redis-server", "/etc/redis.conf"}},
			server: Redis, config: true, persistence: true},
		{name: "from the env", c: Container{Image: "bitnami/redis:7", Command: []string{"redis-server", "--maxmemory", "$(MAXMEM)"}, Env: []Env{{Name: "MAXMEM", Value: "256mb"}}},
			server: Redis, bytes: 256 * mi, flag: "256mb", persistence: true},
		{name: "config file read", c: Container{Image: "redis", Command: []string{"redis-server", "/etc/redis/./redis.conf", "--appendonly", "no"},
			Files: map[string]File{"/etc/redis/redis.conf": {Text: "# cache\nmaxmemory 2gb\nsave \"\"\n", From: "configmap c key redis.conf"}}},
			server: Redis, bytes: 2 << 30, flag: "2gb"},
		{name: "config file read, the command line wins", c: Container{Image: "redis", Command: []string{"redis-server", "/r.conf", "--maxmemory", "1gb"},
			Files: map[string]File{"/r.conf": {Text: "maxmemory 2gb\n"}}},
			server: Redis, bytes: 1 << 30, flag: "1gb", persistence: true},
		{name: "a start script of its own", c: Container{Image: "docker.io/bitnami/redis:7.4"}, server: Redis, config: true, persistence: true},
		{name: "official, from docker.io", c: Container{Image: "docker.io/library/redis:7.4"}, server: Redis, persistence: true},
		{name: "sentinel", c: Container{Image: "redis:7", Command: []string{"redis-sentinel", "/s.conf"}}},
		{name: "a command of its own", c: Container{Image: "redis:7", Command: []string{"/bin/exporter"}}},
		{name: "memcached -m N", c: Container{Image: "memcached:1.6", Args: []string{"-m", "512"}}, server: Memcached, bytes: 512 * mi, flag: "512"},
		{name: "memcached -mN", c: Container{Image: "x", Command: []string{"memcached -p 11264 -m64"}}, server: Memcached, bytes: 64 * mi, flag: "64"},
		{name: "memcached --memory-limit=", c: Container{Image: "memcached", Args: []string{"--memory-limit=2048"}}, server: Memcached, bytes: 2048 * mi, flag: "2048"},
		{name: "memcached, a unit it may not read", c: Container{Image: "memcached", Args: []string{"-m", "2g"}}, server: Memcached},
		{name: "memcached's default", c: Container{Image: "memcached:1.6"}, server: Memcached},
		{name: "something else", c: Container{Image: "nginx", Args: []string{"--maxmemory", "1gb"}}},
	} {
		got := InspectServer(tc.c)
		if got.Server != tc.server || got.Bytes != tc.bytes || got.ConfigFile != tc.config || got.Persistence != tc.persistence {
			t.Errorf("%s: %+v", tc.name, got)
			continue
		}
		if tc.flag != "" && (got.Size == nil || got.Size.Flag != tc.flag || tc.path != "" && got.Size.Path != tc.path) {
			t.Errorf("%s: setting %+v, want %s at %q", tc.name, got.Size, tc.flag, tc.path)
		}
	}
}

// The room left under the limit: half with Redis saving to disk, a
// quarter without, a tenth for Memcached; 32 MiB at least; whole MiB.
func TestServerSizeFit(t *testing.T) {
	const mi = 1 << 20
	for _, tc := range []struct {
		info        ServerInfo
		limit, want int64
	}{
		{ServerInfo{Server: Redis, Persistence: true}, 2048 * mi, 1024 * mi},
		{ServerInfo{Server: Redis}, 1024 * mi, 768 * mi},
		{ServerInfo{Server: Redis}, 100 * mi, 68 * mi},
		{ServerInfo{Server: Memcached}, 1024 * mi, 921 * mi},
		{ServerInfo{Server: Memcached}, 128 * mi, 96 * mi},
	} {
		if got := ServerSizeFit(tc.info, tc.limit); got != tc.want {
			t.Errorf("%+v at %d MiB: %d MiB, want %d", tc.info, tc.limit/mi, got/mi, tc.want/mi)
		}
	}
}

// A ConfigMap volume shows its keys under the mount path, or its items'
// paths; a subPath mount shows that one file at the mount path.
func TestMounted(t *testing.T) {
	data := map[string]string{"redis.conf": "maxmemory 1gb", "other": "x"}
	keys := func(m map[string]File) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got := keys(Mounted(nil, "c", data, nil, "/etc/redis/", "")); !slices.Equal(got, []string{"/etc/redis/other", "/etc/redis/redis.conf"}) {
		t.Errorf("whole volume: %v", got)
	}
	items := map[string]string{"redis.conf": "conf/main.conf"}
	if got := keys(Mounted(nil, "c", data, items, "/data", "")); !slices.Equal(got, []string{"/data/conf/main.conf"}) {
		t.Errorf("items: %v", got)
	}
	files := Mounted(nil, "c", data, nil, "/etc/redis.conf", "redis.conf")
	if got := keys(files); !slices.Equal(got, []string{"/etc/redis.conf"}) || files["/etc/redis.conf"].From != "configmap c key redis.conf" || files["/etc/redis.conf"].Text != "maxmemory 1gb" {
		t.Errorf("subPath: %v", files)
	}
}

// A size read from a config file is rewritten on its own line: the one
// Redis takes (the last), not a comment or maxmemory-policy before it.
func TestSizeEditConfigFile(t *testing.T) {
	conf := "# maxmemory 900mb\nmaxmemory-policy allkeys-lru\nmaxmemory 2gb\nMAXMEMORY 900mb # tuned\nsave \"\"\n"
	c := Container{Image: "redis", Command: []string{"redis-server", "/r.conf"},
		Files: map[string]File{"/r.conf": {Text: conf, Path: `data["redis.conf"]`}}}
	info := InspectServer(c)
	if info.Bytes != 900<<20 || info.Persistence {
		t.Fatalf("%+v", info)
	}
	path, text, ok := info.SizeEdit("384mb")
	want := "# maxmemory 900mb\nmaxmemory-policy allkeys-lru\nmaxmemory 2gb\nMAXMEMORY 384mb # tuned\nsave \"\"\n"
	if !ok || path != `data["redis.conf"]` || text != want {
		t.Fatalf("%v %q\n%q", ok, path, text)
	}
	if got := info.SizeFlag("384mb"); got != "MAXMEMORY 384mb" {
		t.Errorf("flag %q", got)
	}
	// Not editable when the caller gave no field.
	f := c.Files["/r.conf"]
	f.Path = ""
	c.Files["/r.conf"] = f
	if _, _, ok := InspectServer(c).SizeEdit("384mb"); ok {
		t.Error("a file with no field was edited")
	}
}

// Memcached reads -m as the number its text starts with, in MiB
// (memcached 1.6.18: -m 2Gi gives maxbytes 2097152, -m 512M 536870912).
func TestMemcachedSizes(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		bytes     int64
		bad       string
		meantMiB  int64
		meantKnow bool
	}{
		{[]string{"-m", "2048"}, 2048 << 20, "", 0, false},
		{[]string{"-m", "512M"}, 512 << 20, "", 0, false},
		{[]string{"--memory-limit=1024mb"}, 1024 << 20, "", 0, false},
		{[]string{"-m", "2Gi"}, 0, "2Gi", 2048, true},
		{[]string{"-m8g"}, 0, "8g", 8192, true},
		{[]string{"-m", "65536k"}, 0, "65536k", 64, true},
		{[]string{"-m", "1.5"}, 0, "1.5", 0, false},
		{[]string{"-m", "2Gi", "-m", "64"}, 64 << 20, "", 0, false}, // the last wins
	} {
		info := InspectServer(Container{Image: "memcached:1.6", Args: tc.args})
		bad := ""
		if info.BadSize != nil {
			bad = info.BadSize.Flag
		}
		if info.Bytes != tc.bytes || bad != tc.bad {
			t.Errorf("%v: %d bytes, bad %q; want %d, %q", tc.args, info.Bytes, bad, tc.bytes, tc.bad)
		}
		if bad != "" {
			if mib, ok := MeantMemcachedMiB(bad); mib != tc.meantMiB || ok != tc.meantKnow {
				t.Errorf("%s means %d MiB (%v), want %d (%v)", bad, mib, ok, tc.meantMiB, tc.meantKnow)
			}
		}
	}
}
