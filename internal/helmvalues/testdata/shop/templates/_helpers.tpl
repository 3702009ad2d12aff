{{- define "shop.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shop.preset" -}}
{{- $presets := dict
  "nano" (dict "requests" (dict "cpu" "100m" "memory" "128Mi") "limits" (dict "memory" "192Mi"))
  "small" (dict "requests" (dict "cpu" "250m" "memory" "256Mi") "limits" (dict "memory" "384Mi"))
  "large" (dict "requests" (dict "cpu" "1" "memory" "1Gi") "limits" (dict "memory" "2Gi"))
-}}
{{- index $presets . | toYaml -}}
{{- end -}}
