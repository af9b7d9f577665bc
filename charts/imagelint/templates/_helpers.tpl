{{/*
Names, labels and small shared values for every template of the chart.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "imagelint.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name (release-name), truncated to 63 characters (DNS labels); components
append "-api" / "-triton", so the base is cut to 56.
*/}}
{{- define "imagelint.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 56 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "imagelint.api.fullname" -}}
{{- printf "%s-api" (include "imagelint.fullname" .) }}
{{- end }}

{{- define "imagelint.triton.fullname" -}}
{{- printf "%s-triton" (include "imagelint.fullname" .) }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "imagelint.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "imagelint.labels" -}}
helm.sh/chart: {{ include "imagelint.chart" . }}
app.kubernetes.io/name: {{ include "imagelint.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: imagelint
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "api"). */}}
{{- define "imagelint.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imagelint.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's resources; same arguments as selectorLabels. */}}
{{- define "imagelint.componentLabels" -}}
{{ include "imagelint.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The service account the pods run as. */}}
{{- define "imagelint.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "imagelint.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference; call with (dict "image" .Values.api.image "ctx" $). */}}
{{- define "imagelint.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* Secret holding the API keys (the chart's own, or an existing one). */}}
{{- define "imagelint.apiKeysSecretName" -}}
{{- default (printf "%s-keys" (include "imagelint.api.fullname" .)) .Values.api.auth.existingSecret }}
{{- end }}

{{/* host:port of Triton's gRPC endpoint, as the API reads it (IMAGELINT_TRITON_URL). */}}
{{- define "imagelint.tritonUrl" -}}
{{- if .Values.api.tritonUrl }}
{{- .Values.api.tritonUrl }}
{{- else if .Values.triton.enabled }}
{{- printf "%s:%d" (include "imagelint.triton.fullname" .) (int .Values.triton.service.grpcPort) }}
{{- else }}
{{- fail "triton.enabled is false: set api.tritonUrl to the Triton gRPC host:port to use" }}
{{- end }}
{{- end }}

{{/* KIND_GPU or KIND_CPU for the model's instance_group, from triton.gpu.enabled. */}}
{{- define "imagelint.triton.instanceKind" -}}
{{- if .Values.triton.gpu.enabled }}KIND_GPU{{ else }}KIND_CPU{{ end }}
{{- end }}

{{- define "imagelint.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "imagelint.fullname" .) }}
{{- end }}

{{/* The Secret holding the in-chart PostgreSQL's password and the API's database URL. */}}
{{- define "imagelint.postgresql.secretName" -}}
{{- include "imagelint.postgresql.fullname" . }}
{{- end }}
