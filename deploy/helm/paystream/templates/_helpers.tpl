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

{{/* A container's Kafka user (SASL_SSL only): its name, and its password from its own Secret.
Called with (dict "root" $ "user" <a key of kafka.security.users>). */}}
{{- define "paystream.kafkaUserEnv" -}}
{{- $sec := .root.Values.kafka.security -}}
{{- if eq $sec.protocol "SASL_SSL" -}}
{{- $u := required (printf "kafka.security.users.%s is required with SASL_SSL" .user) (index $sec.users .user) -}}
- name: PAYSTREAM_KAFKA_SASL_USERNAME
  value: {{ $u.username | quote }}
- name: PAYSTREAM_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "kafka.security.users.%s.passwordSecret is required with SASL_SSL" .user) $u.passwordSecret | quote }}
      key: {{ $u.passwordKey | default "password" | quote }}
{{- end -}}
{{- end -}}

{{/* The brokers' CA, mounted where PAYSTREAM_KAFKA_SSL_CA_FILE points (when kafka.security.caSecret). */}}
{{- define "paystream.kafkaCaMount" -}}
{{- if .Values.kafka.security.caSecret -}}
- {name: kafka-ca, mountPath: /etc/paystream/kafka-ca, readOnly: true}
{{- end -}}
{{- end -}}

{{- define "paystream.kafkaCaVolume" -}}
{{- if .Values.kafka.security.caSecret -}}
- name: kafka-ca
  secret: {secretName: {{ .Values.kafka.security.caSecret | quote }}}
{{- end -}}
{{- end -}}
