{{/* Chart name, release-qualified names and labels. */}}
{{- define "idp-canary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "idp-canary.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "idp-canary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "idp-canary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "idp-canary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "idp-canary.labels" -}}
helm.sh/chart: {{ include "idp-canary.chart" . }}
{{ include "idp-canary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: monitor
app.kubernetes.io/part-of: idp-canary
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "idp-canary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "idp-canary.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "idp-canary.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/*
The daemon's configuration as YAML: .Values.config, with every STS probe that names no
token source pointed at the projected token file when stsToken is enabled.
*/}}
{{- define "idp-canary.config" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- if .Values.stsToken.enabled -}}
{{- range $idp := ($config.idps | default list) -}}
{{- range $probe := ($idp.sts | default list) -}}
{{- if not (hasKey $probe "token") -}}
{{- $_ := set $probe "token" (dict "file" $.Values.stsToken.path) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The port the daemon listens on: the one in config.server.listen, else 9741. */}}
{{- define "idp-canary.containerPort" -}}
{{- $listen := "" -}}
{{- with .Values.config -}}{{- with .server -}}{{- $listen = .listen | default "" | toString -}}{{- end -}}{{- end -}}
{{- $port := regexFind "[0-9]+$" $listen -}}
{{- $port | default "9741" -}}
{{- end -}}
