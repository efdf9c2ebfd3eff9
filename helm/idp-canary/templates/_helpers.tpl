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

{{/* repository@digest when a digest is given (the tag is then ignored), else repository:tag. */}}
{{- define "idp-canary.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
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

{{/* Where existingSecret is mounted; config file paths under it name the Secret's keys. */}}
{{- define "idp-canary.secretsDir" -}}/etc/idp-canary-secrets{{- end -}}

{{/* config.server as the chart sees it: empty with existingConfigMap (the chart cannot read that). */}}
{{- define "idp-canary.serverConfig" -}}
{{- $server := dict -}}
{{- if not .Values.existingConfigMap -}}
{{- with .Values.config -}}{{- with .server -}}{{- $server = . -}}{{- end -}}{{- end -}}
{{- end -}}
{{- toJson $server -}}
{{- end -}}

{{/* "true" when the daemon serves HTTPS (config.server.tls set). */}}
{{- define "idp-canary.tls" -}}
{{- $server := include "idp-canary.serverConfig" . | fromJson -}}
{{- if $server.tls -}}true{{- end -}}
{{- end -}}

{{/*
A container probe from the values: httpGet.scheme defaults to HTTPS when the daemon serves
TLS (the kubelet does not verify the certificate). The health endpoints need no credentials.
*/}}
{{- define "idp-canary.probe" -}}
{{- $probe := deepCopy .probe -}}
{{- if and $probe.httpGet (not $probe.httpGet.scheme) -}}
{{- $_ := set $probe.httpGet "scheme" (ternary "HTTPS" "HTTP" (eq (include "idp-canary.tls" .root) "true")) -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{/*
The key of existingSecret a configured file path names: "token" for
/etc/idp-canary-secrets/token; empty when the file is elsewhere or there is no existingSecret.
*/}}
{{- define "idp-canary.secretKeyOf" -}}
{{- $dir := include "idp-canary.secretsDir" .root -}}
{{- if and .root.Values.existingSecret .path (eq (dir (toString .path)) $dir) -}}
{{- base (toString .path) -}}
{{- end -}}
{{- end -}}

{{/*
The ServiceMonitor endpoint's credentials as YAML (authorization or basicAuth), from the
values, else derived from config.server.auth and existingSecret. Fails when the daemon
wants credentials the ServiceMonitor would not send: every scrape would answer 401.
*/}}
{{- define "idp-canary.scrapeAuth" -}}
{{- $sm := .Values.serviceMonitor -}}
{{- if and $sm.authorization $sm.basicAuth -}}
{{- fail "serviceMonitor: set authorization or basicAuth, not both (a scrape sends one Authorization header)" -}}
{{- end -}}
{{- $server := include "idp-canary.serverConfig" . | fromJson -}}
{{- if $sm.authorization -}}
authorization:
  {{- toYaml $sm.authorization | nindent 2 }}
{{- else if $sm.basicAuth -}}
basicAuth:
  {{- toYaml $sm.basicAuth | nindent 2 }}
{{- else if $server.auth -}}
{{- $auth := $server.auth -}}
{{- $tokenKey := include "idp-canary.secretKeyOf" (dict "root" . "path" $auth.bearerTokenFile) -}}
{{- $passwordKey := "" -}}
{{- with $auth.basic -}}{{- $passwordKey = include "idp-canary.secretKeyOf" (dict "root" $ "path" .passwordFile) -}}{{- end -}}
{{- if $tokenKey -}}
authorization:
  type: Bearer
  credentials:
    name: {{ .Values.existingSecret }}
    key: {{ $tokenKey }}
{{- else if $passwordKey -}}
basicAuth:
  username:
    name: {{ .Values.existingSecret }}
    key: username
  password:
    name: {{ .Values.existingSecret }}
    key: {{ $passwordKey }}
{{- else -}}
{{- fail (printf "config.server.auth is set, but the ServiceMonitor would scrape without credentials: set serviceMonitor.authorization or serviceMonitor.basicAuth, or keep the bearer token / basic password file in existingSecret (under %s)" (include "idp-canary.secretsDir" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
