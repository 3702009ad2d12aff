package podcgroup

import "testing"

const (
	uid  = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
	uidU = "0a1b2c3d_4e5f_6789_abcd_ef0123456789"
	id   = "8d5b7c2a9e4f1b3c6d8e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Ref
	}{
		// cgroupfs driver, every QoS class.
		{"/kubepods/burstable/pod" + uid + "/" + id, Ref{Level: Container, QoS: "burstable", PodUID: uid, ContainerID: id,
			KubepodsPath: "/kubepods", PodPath: "/kubepods/burstable/pod" + uid, ContainerPath: "/kubepods/burstable/pod" + uid + "/" + id}},
		{"/kubepods/besteffort/pod" + uid + "/" + id, Ref{Level: Container, QoS: "besteffort", PodUID: uid, ContainerID: id,
			KubepodsPath: "/kubepods", PodPath: "/kubepods/besteffort/pod" + uid, ContainerPath: "/kubepods/besteffort/pod" + uid + "/" + id}},
		{"/kubepods/pod" + uid + "/" + id, Ref{Level: Container, QoS: "guaranteed", PodUID: uid, ContainerID: id,
			KubepodsPath: "/kubepods", PodPath: "/kubepods/pod" + uid, ContainerPath: "/kubepods/pod" + uid + "/" + id}},
		// A kubelet with --cgroup-root, CRI-O under cgroupfs.
		{"/oomdoctor-e2e-42/kubepods/burstable/pod" + uid + "/crio-" + id, Ref{Level: Container, QoS: "burstable", PodUID: uid, ContainerID: id, Runtime: "crio",
			KubepodsPath: "/oomdoctor-e2e-42/kubepods", PodPath: "/oomdoctor-e2e-42/kubepods/burstable/pod" + uid, ContainerPath: "/oomdoctor-e2e-42/kubepods/burstable/pod" + uid + "/crio-" + id}},
		// systemd driver: containerd, CRI-O, Docker; Guaranteed pods.
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + id + ".scope",
			Ref{Level: Container, QoS: "burstable", PodUID: uid, ContainerID: id, Runtime: "containerd", KubepodsPath: "/kubepods.slice",
				PodPath:       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice",
				ContainerPath: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + id + ".scope"}},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + id + ".scope/container",
			Ref{Level: Container, QoS: "besteffort", PodUID: uid, ContainerID: id, Runtime: "crio", KubepodsPath: "/kubepods.slice",
				PodPath:       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice",
				ContainerPath: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + id + ".scope"}},
		{"/kubepods.slice/kubepods-pod" + uidU + ".slice/docker-" + id + ".scope",
			Ref{Level: Container, QoS: "guaranteed", PodUID: uid, ContainerID: id, Runtime: "docker", KubepodsPath: "/kubepods.slice",
				PodPath: "/kubepods.slice/kubepods-pod" + uidU + ".slice", ContainerPath: "/kubepods.slice/kubepods-pod" + uidU + ".slice/docker-" + id + ".scope"}},
		// Levels above the container.
		{"/kubepods/burstable/pod" + uid, Ref{Level: Pod, QoS: "burstable", PodUID: uid, KubepodsPath: "/kubepods", PodPath: "/kubepods/burstable/pod" + uid}},
		{"/kubepods/burstable", Ref{Level: QoS, QoS: "burstable", KubepodsPath: "/kubepods"}},
		{"/kubepods.slice/kubepods-besteffort.slice", Ref{Level: QoS, QoS: "besteffort", KubepodsPath: "/kubepods.slice"}},
		{"/kubepods", Ref{Level: Kubepods, KubepodsPath: "/kubepods"}},
		// conmon is not a container; other trees are outside.
		{"/kubepods.slice/kubepods-pod" + uidU + ".slice/crio-conmon-" + id + ".scope", Ref{Level: Pod, QoS: "guaranteed", PodUID: uid, KubepodsPath: "/kubepods.slice", PodPath: "/kubepods.slice/kubepods-pod" + uidU + ".slice"}},
		{"/system.slice/containerd.service", Ref{}},
		{"/", Ref{}},
		{"/oomtest", Ref{}},
	} {
		if got := Parse(tc.path); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.path, got, tc.want)
		}
	}
}

func TestScope(t *testing.T) {
	c := "/kubepods/burstable/pod" + uid + "/" + id
	victim := Parse(c)
	for oom, want := range map[string]string{
		c:                               "container",
		"/kubepods/burstable/pod" + uid: "pod",
		"/kubepods/burstable":           "node",
		"/kubepods":                     "node",
		"/":                             "outside",
		"/kubepods.slice/kubepods-burstable.slice": "node",
	} {
		if got := Scope(oom, victim); got != want {
			t.Errorf("oom_memcg %s: %s, want %s", oom, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("/kubepods/burstable/pod" + uid + "/" + id)
	f.Add("/kubepods.slice/kubepods-pod" + uidU + ".slice/docker-" + id + ".scope")
	f.Fuzz(func(t *testing.T, p string) {
		r := Parse(p)
		if r.Level == Container && (r.ContainerID == "" || r.PodUID == "") {
			t.Errorf("%q: container without IDs: %+v", p, r)
		}
		if r.Level >= Pod && len(r.PodUID) != 36 {
			t.Errorf("%q: pod UID %q", p, r.PodUID)
		}
	})
}
