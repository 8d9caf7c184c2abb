{{/* Labels on every object: the selector label plus Helm's own. */}}
{{- define "spillway.labels" -}}
app.kubernetes.io/name: spillway
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The selector: the same as config/deploy, so either install can replace the other. */}}
{{- define "spillway.selector" -}}
app.kubernetes.io/name: spillway
{{- end -}}
