{{/* Names and labels shared by every template. */}}
{{- define "paystream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "paystream.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "paystream.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "paystream.image" -}}
{{- printf "%s/paystream-%s:%s" .root.Values.image.registry .name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{- define "paystream.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "paystream.fullname" .)) -}}
{{- end -}}

{{/* The environment every paystream container gets: the ConfigMap and the Secret. */}}
{{- define "paystream.envFrom" -}}
- configMapRef:
    name: {{ include "paystream.fullname" . }}-config
- secretRef:
    name: {{ include "paystream.secretName" . }}
{{- end -}}
