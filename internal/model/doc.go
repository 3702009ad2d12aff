// Package model holds the types every oomdoctor command shares: findings about
// killed containers, the workloads that own them, and the reports that carry
// them. Sources (a live cluster, a snapshot) and renderers (table, json) only
// meet through these types. Memory sizes are bytes as int64.
package model
