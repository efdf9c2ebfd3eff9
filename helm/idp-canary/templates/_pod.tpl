{{/* The pod template shared by the Deployment (shards = 1) and the StatefulSet (shards > 1). */}}
{{- define "idp-canary.podTemplate" -}}
metadata:
  labels:
    {{- include "idp-canary.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Rolls the pods when the configuration changes.
    checksum/config: {{ include "idp-canary.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
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
      ports:
        - name: http
          containerPort: {{ include "idp-canary.containerPort" . }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /-/healthy
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /-/ready
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 3
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
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "idp-canary.fullname" . }}
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
{{- end -}}
