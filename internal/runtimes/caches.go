package runtimes

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Server names an in-memory store whose data a size setting of its own
// bounds (Redis' maxmemory, Memcached's -m). The values appear in output:
// never rename one.
type Server string

const (
	NoServer  Server = ""
	Redis     Server = "redis"
	Memcached Server = "memcached"
)

// ServerInfo is an in-memory store's data size setting.
type ServerInfo struct {
	Server Server
	// Why says what gave the server away: "the redis-server command".
	Why string
	// Bytes is the size set on the command line (0: not set there, so the
	// server's default or its config file's).
	Bytes int64
	// Size is the setting: Flag is the value as written ("2gb", "1024"),
	// Path and Value the command or args item that holds it; Directive
	// the option before it ("--maxmemory", "-m", "--memory-limit=").
	Size      *Setting
	Directive string
	// BadSize is a maxmemory Redis refuses as it starts ("argument must
	// be a memory value": 1Gi, 1.5gb), with Directive; Size is then nil.
	BadSize *Setting
	// Joined is set when the value is written onto its directive
	// ("-m1024", "--memory-limit=1024").
	Joined bool
	// ConfigFile is set when Redis reads a config file that was not read
	// (Container.Files), which may set maxmemory or persistence (the
	// command line wins over it).
	ConfigFile bool
	// ConfigPath is the config file named on the command line ("" when
	// none is, even if a start script writes one).
	ConfigPath string
	// Persistence: Redis saves to disk by forking (RDB snapshots, on by
	// default, or AOF rewrites); the child's copy-on-write pages are
	// charged to the same memory cgroup.
	Persistence bool
}

// redisImages and memcachedImages are repositories (last path element)
// whose default command starts the server.
var (
	redisImages     = []string{"redis", "valkey", "redis-stack-server", "keydb"}
	memcachedImages = []string{"memcached"}
	// officialRedis are the repositories whose entrypoint starts
	// redis-server with no config file when no args name one.
	officialRedis = []string{"redis", "library/redis", "valkey/valkey", "redis/redis-stack-server", "eqalpha/keydb"}
)

// InspectServer finds Redis (or Valkey, KeyDB) and Memcached and the data
// size they were given on the command line.
func InspectServer(c Container) ServerInfo {
	words, _, repo, tag := read(c)
	base := imageBase(repo)
	for i, w := range words {
		switch path.Base(w.text) {
		case "redis-server", "valkey-server", "keydb-server":
			return inspectRedis(words[i+1:], "the "+path.Base(w.text)+" command", c.Files)
		case "redis-sentinel", "valkey-sentinel", "redis-cli", "valkey-cli":
			return ServerInfo{} // no dataset of its own
		case "memcached":
			return inspectMemcached(words[i+1:], "the memcached command")
		}
	}
	// The image's own command, with args only or nothing given.
	if len(c.Command) == 0 {
		why := "image " + repo + ":" + tag
		for _, r := range redisImages {
			if base == r {
				// The official images' entrypoint passes flags on to
				// redis-server (or runs what args name, seen above).
				// Others' start scripts (Bitnami's) may write a config
				// file of their own from the environment.
				info := inspectRedis(words, why, c.Files)
				if !slices.Contains(officialRedis, strings.TrimPrefix(repo, "docker.io/")) {
					info.ConfigFile, info.Persistence = true, true
				}
				return info
			}
		}
		for _, m := range memcachedImages {
			if base == m {
				return inspectMemcached(words, why)
			}
		}
	}
	return ServerInfo{}
}

// inspectRedis reads redis-server's arguments: an optional config file
// (read when files holds it), then --directive value..., which win over
// the file. RDB snapshots are on unless save is set to "" (their default,
// save 3600 1 300 100 60 10000, holds otherwise); appendonly yes turns AOF
// on.
func inspectRedis(args []word, why string, files map[string]File) ServerInfo {
	info := ServerInfo{Server: Redis, Why: why, Persistence: true}
	snapshots, aof := true, false
	if len(args) > 0 && !strings.HasPrefix(args[0].text, "--") {
		info.ConfigFile, info.ConfigPath = true, args[0].text
		if f, ok := files[path.Clean(args[0].text)]; ok {
			info.ConfigFile = false // read: what it sets is known
			for ln, line := range strings.Split(f.Text, "\n") {
				fields := strings.Fields(line)
				if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
					continue
				}
				val := ""
				if len(fields) > 1 {
					val = fields[1]
				}
				switch strings.ToLower(fields[0]) {
				case "maxmemory":
					set := &Setting{Flag: val, Source: f.From, Path: f.Path, Value: f.Text, Line: ln + 1}
					info.Directive = fields[0]
					if n, ok := ParseRedisBytes(val); ok {
						info.Bytes, info.Size, info.BadSize = n, set, nil
					} else if val != "" {
						info.Bytes, info.Size, info.BadSize = 0, nil, set
					}
				case "save":
					snapshots = strings.Trim(val, `"'`) != ""
				case "appendonly":
					aof = strings.EqualFold(val, "yes")
				}
			}
		}
	}
	for i, w := range args {
		directive := strings.ToLower(w.text)
		next := ""
		if i+1 < len(args) && !strings.HasPrefix(args[i+1].text, "--") {
			next = args[i+1].text
		}
		switch directive {
		case "--maxmemory":
			if next == "" {
				break
			}
			set := &Setting{Flag: next, Source: args[i+1].source, Path: args[i+1].path, Value: args[i+1].value}
			info.Directive = w.text
			if n, ok := ParseRedisBytes(next); ok {
				info.Bytes, info.Size, info.BadSize = n, set, nil
			} else {
				info.Bytes, info.Size, info.BadSize = 0, nil, set
			}
		case "--save":
			// --save "" (nothing, or an empty word, follows) turns them off.
			snapshots = strings.Trim(next, `"'`) != ""
		case "--appendonly":
			aof = strings.EqualFold(next, "yes")
		}
	}
	if !info.ConfigFile {
		info.Persistence = snapshots || aof
	}
	return info
}

var redisBytesRe = regexp.MustCompile(`^(\d+)([kmg]b?|b)?$`)

// ParseRedisBytes reads Redis' memory units (case-insensitive): 1k is
// 1000 bytes, 1kb 1024; likewise m, mb, g, gb; a bare number is bytes.
func ParseRedisBytes(s string) (int64, bool) {
	m := redisBytesRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]int64{"": 1, "b": 1, "k": 1e3, "kb": 1 << 10, "m": 1e6, "mb": 1 << 20, "g": 1e9, "gb": 1 << 30}[m[2]]
	return n * mult, true
}

// MeantRedisBytes reads a maxmemory Redis refuses as the amount it
// means: Kubernetes' units (1Gi, 512Mi), a fraction of Redis' binary ones
// (1.5gb). ok is false when it is no amount.
func MeantRedisBytes(s string) (int64, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 0.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = v, u.mult
			break
		}
	}
	x, err := strconv.ParseFloat(t, 64)
	if mult == 0 || err != nil || x <= 0 {
		return 0, false
	}
	return int64(x * mult), true
}

// RedisBytes writes bytes in Redis' binary units: "768mb".
func RedisBytes(b int64) string { return strconv.FormatInt(b>>20, 10) + "mb" }

// MemcachedMB writes bytes as Memcached's -m takes them: "768".
func MemcachedMB(b int64) string { return strconv.FormatInt(b>>20, 10) }

// ServerSizeFit is the largest data size that leaves the server room
// under a memory limit: Redis' allocator fragmentation, client and
// replication buffers and, when it saves to disk, the forked child's
// copy-on-write pages (up to the whole dataset again under heavy
// writes), so half the limit with persistence and three quarters
// without; Memcached's hash table, connection buffers and threads, a
// tenth of the limit. At least 32 MiB of room either way.
func ServerSizeFit(info ServerInfo, limit int64) int64 {
	var fit int64
	switch {
	case info.Server == Redis && info.Persistence:
		fit = limit / 2
	case info.Server == Redis:
		fit = limit / 4 * 3
	default:
		fit = limit / 10 * 9
	}
	return min(fit, limit-32<<20) >> 20 << 20
}

// inspectMemcached reads -m N, -mN, --memory-limit=N or --memory-limit N:
// megabytes (MiB) of item memory, 64 by default. Other forms are left
// alone (older releases read "2g" as 2).
func inspectMemcached(args []word, why string) ServerInfo {
	info := ServerInfo{Server: Memcached, Why: why}
	for i, w := range args {
		var val, directive string
		var at word
		joined := false
		switch {
		case w.text == "-m" || w.text == "--memory-limit":
			if i+1 < len(args) {
				val, at, directive = args[i+1].text, args[i+1], w.text
			}
		case strings.HasPrefix(w.text, "--memory-limit="):
			val, at, directive, joined = strings.TrimPrefix(w.text, "--memory-limit="), w, "--memory-limit=", true
		case strings.HasPrefix(w.text, "-m") && len(w.text) > 2 && !strings.HasPrefix(w.text, "--"):
			val, at, directive, joined = w.text[2:], w, "-m", true
		default:
			continue
		}
		n, exact := MemcachedMiB(val)
		if n <= 0 && exact {
			continue
		}
		set := &Setting{Flag: val, Source: at.source, Path: at.path, Value: at.value}
		info.Directive, info.Joined = directive, joined
		if !exact {
			info.Bytes, info.Size, info.BadSize = 0, nil, set
			continue
		}
		info.Bytes, info.Size, info.BadSize = n<<20, set, nil
	}
	return info
}

// MemcachedMiB reads -m as Memcached does: the number its text starts
// with, in MiB, whatever follows (1.6.18 reads -m 2Gi as 2 MiB and 8g as
// 8 MiB). exact is false when something other than a MiB unit follows
// (m, mb, any case), so the number read is not the one meant.
func MemcachedMiB(val string) (n int64, exact bool) {
	i := 0
	for i < len(val) && val[i] >= '0' && val[i] <= '9' {
		i++
	}
	n, _ = strconv.ParseInt(val[:i], 10, 64)
	switch strings.ToLower(val[i:]) {
	case "", "m", "mb":
		return n, i > 0
	}
	return n, false
}

// MeantMemcachedMiB reads a -m Memcached misreads as the MiB it means
// (2Gi, 8g, 1.5G, 65536k); ok is false when it is no amount.
func MeantMemcachedMiB(val string) (int64, bool) {
	v, mult := meantUnit(val)
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x <= 0 || mult == 1 && strings.Contains(v, ".") {
		return 0, false // a bare fraction: GiB or MiB?
	}
	if mult == 1 {
		mult = 1 << 20 // a bare number is MiB
	}
	return int64(x*float64(mult)) >> 20, true
}

// SizeValue writes bytes as the server's setting takes them: "768mb" for
// Redis, "768" (MiB) for Memcached.
func (info ServerInfo) SizeValue(b int64) string {
	if info.Server == Memcached {
		return MemcachedMB(b)
	}
	return RedisBytes(b)
}

// SizeFlag writes the setting with a value as the command line has it:
// "--maxmemory 768mb", "-m768".
func (info ServerInfo) SizeFlag(value string) string {
	if info.Joined {
		return info.Directive + value
	}
	return info.Directive + " " + value
}

// SizeEdit is the field that holds the size and its text with value
// written in place of the size: the first time the size follows its
// directive in the field, or the whole field when the size is an item of
// its own; for a config file's setting, the file's text with the size
// replaced on its line. ok is false where the field cannot be edited (not
// in the manifest).
func (info ServerInfo) SizeEdit(value string) (path, text string, ok bool) {
	s := info.Size
	if s == nil || s.Path == "" {
		return "", "", false
	}
	if s.Value == s.Flag {
		return s.Path, value, true
	}
	if s.Line > 0 {
		// A config file's line: "maxmemory 900mb", the directive first.
		lines := strings.Split(s.Value, "\n")
		if s.Line > len(lines) {
			return "", "", false
		}
		line := lines[s.Line-1]
		at := strings.Index(strings.ToLower(line), strings.ToLower(info.Directive))
		if at < 0 {
			return "", "", false
		}
		at += len(info.Directive)
		j := strings.Index(line[at:], s.Flag)
		if j < 0 {
			return "", "", false
		}
		j += at
		lines[s.Line-1] = line[:j] + value + line[j+len(s.Flag):]
		return s.Path, strings.Join(lines, "\n"), true
	}
	at := -1
	for i := 0; i+len(info.Directive) <= len(s.Value); i++ {
		if strings.HasPrefix(s.Value[i:], info.Directive) && (i == 0 || strings.ContainsRune(" \t\n'\"", rune(s.Value[i-1]))) {
			at = i + len(info.Directive)
			break
		}
	}
	if at < 0 {
		return "", "", false
	}
	j := strings.Index(s.Value[at:], s.Flag)
	if j < 0 {
		return "", "", false
	}
	j += at
	return s.Path, s.Value[:j] + value + s.Value[j+len(s.Flag):], true
}
