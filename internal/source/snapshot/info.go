package snapshot

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InfoKind is the kind of the file that describes a snapshot.
const InfoKind = "SnapshotInfo"

// InfoFile is the name of that file in a snapshot folder.
const InfoFile = "snapshot-info.json"

// Info describes a snapshot: when, from where, and what it holds.
type Info struct {
	metav1.TypeMeta `json:",inline"`
	// CapturedAt is when the snapshot was taken; ages in reports count
	// back from it.
	CapturedAt metav1.Time `json:"capturedAt"`
	Server     string      `json:"server,omitempty"`
	Context    string      `json:"context,omitempty"`
	// ServerVersion is the API server's gitVersion.
	ServerVersion string `json:"serverVersion,omitempty"`
	// Namespace is the namespace captured; empty for all.
	Namespace string `json:"namespace,omitempty"`
	// OOMDoctorVersion is the version of oomdoctor that wrote it.
	OOMDoctorVersion string `json:"oomdoctorVersion,omitempty"`
	// Files maps every file of the snapshot to the number of objects in it.
	Files map[string]int `json:"files"`
	// Warnings are the kinds that could not be captured, and why.
	Warnings []string `json:"warnings,omitempty"`
}
