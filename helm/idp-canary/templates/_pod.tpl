{{/* The pod template shared by the Deployment (shards = 1) and the StatefulSet (shards > 1). */}}
{{- define "idp-canary.podTemplate" -}}
metadata:
  labels:
    {{- include "idp-canary.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or (not .Values.existingConfigMap) .Values.podAnnotations }}
  annotations:
    {{- if not .Values.existingConfigMap }}
    # Rolls the pods when the configuration changes.
    checksum/config: {{ include "idp-canary.config" . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "idp-canary.serviceAccountName" . }}
  # The daemon never calls the Kubernetes API; the STS token, when wanted, is projected below.
  automountServiceAccountToken: false
  # No <SERVICE>_PORT/_HOST variables: a Service named idp-canary would inject IDP_CANARY_*
  # variables next to the daemon's own.
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: idp-canary
      image: {{ include "idp-canary.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["run"]
      env:
        - name: IDP_CANARY_CONFIG
          value: /etc/idp-canary/config.yaml
        - name: LOG_LEVEL
          value: {{ .Values.logLevel | quote }}
        {{- if gt (int .Values.shards) 1 }}
        # The StatefulSet ordinal (downward API, Kubernetes 1.28+) as this pod's shard.
        - name: POD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        - name: IDP_CANARY_SHARD
          value: "$(POD_INDEX)/{{ int .Values.shards }}"
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ include "idp-canary.containerPort" . }}
          protocol: TCP
      # /-/healthy and /-/ready stay open when config.server.auth is set: the kubelet sends
      # no credentials. With config.server.tls they are probed over HTTPS.
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- include "idp-canary.probe" (dict "root" $ "probe" .) | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- include "idp-canary.probe" (dict "root" $ "probe" .) | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/idp-canary
          readOnly: true
        # The root filesystem is read-only; /tmp is the one writable place (e.g. state.file).
        - name: tmp
          mountPath: /tmp
        {{- if .Values.stsToken.enabled }}
        - name: sts-token
          mountPath: {{ dir .Values.stsToken.path }}
          readOnly: true
        {{- end }}
        {{- if .Values.existingSecret }}
        - name: existing-secret
          mountPath: {{ include "idp-canary.secretsDir" . }}
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ .Values.existingConfigMap | default (include "idp-canary.fullname" .) }}
        items:
          - key: config.yaml
            path: config.yaml
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if .Values.stsToken.enabled }}
    - name: sts-token
      projected:
        sources:
          - serviceAccountToken:
              audience: {{ .Values.stsToken.audience | quote }}
              expirationSeconds: {{ int .Values.stsToken.expirationSeconds }}
              path: {{ base .Values.stsToken.path }}
    {{- end }}
    {{- if .Values.existingSecret }}
    - name: existing-secret
      secret:
        secretName: {{ .Values.existingSecret }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    {{- $constraint := deepCopy . }}
    {{- if not $constraint.labelSelector }}
    {{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "idp-canary.selectorLabels" $ | fromYaml)) }}
    {{- end }}
    {{- toYaml (list $constraint) | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end -}}
