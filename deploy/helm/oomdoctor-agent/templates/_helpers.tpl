{{- define "oomdoctor-agent.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oomdoctor-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "oomdoctor-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "oomdoctor-agent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "oomdoctor-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oomdoctor-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oomdoctor-agent.labels" -}}
{{ include "oomdoctor-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The agent's --kmsg: syslog (the syslog(2) system call), the device, or
nothing (kernelLog false).
*/}}
{{- define "oomdoctor-agent.kmsg" -}}
{{- if .Values.kernelLog -}}
{{- if eq .Values.kernelLogSource "device" -}}/dev/kmsg{{- else -}}syslog{{- end -}}
{{- end -}}
{{- end }}
