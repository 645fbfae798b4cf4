//! The keywords HAProxy 2.6 knows, from `configuration.txt` (section 3 for
//! `global`, the matrix of section 4.1 for proxies). Switchyard uses them to
//! tell "HAProxy has it, Switchyard does not implement it yet" apart from
//! "no such keyword", and to suggest the nearest keyword for a typo.
//! Generated from the Debian `haproxy` 2.6 documentation; keep it that way.

/// Where a proxy keyword may appear: defaults, frontend, listen, backend.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub defaults: bool,
    pub frontend: bool,
    pub listen: bool,
    pub backend: bool,
}

pub const PROXY_KEYWORDS: &[(&str, Allowed)] = &[
    (
        "acl",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "backlog",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "balance",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "bind",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "bind-process",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "capture cookie",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "capture request header",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "capture response header",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "clitcpka-cnt",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "clitcpka-idle",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "clitcpka-intvl",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "compression",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "cookie",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "declare capture",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "default-server",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "default_backend",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "description",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "disabled",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "dispatch",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "email-alert from",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "email-alert level",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "email-alert mailers",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "email-alert myhostname",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "email-alert to",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "enabled",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "errorfile",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "errorfiles",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "errorloc",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "errorloc302",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "errorloc303",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "error-log-format",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "force-persist",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "filter",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "fullconn",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "hash-type",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-after-response",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check comment",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check connect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check disable-on-404",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check expect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check send",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check send-state",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check set-var",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-check unset-var",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-error",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-request",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-response",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-reuse",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "http-send-name-header",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "id",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "ignore-persist",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "load-server-state-from-file",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "log",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "log-format",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "log-format-sd",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "log-tag",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "max-keep-alive-queue",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "maxconn",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "mode",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "monitor fail",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "monitor-uri",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option abortonclose",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option accept-invalid-http-request",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option accept-invalid-http-response",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option allbackups",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option checkcache",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option clitcpka",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option contstats",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option disable-h2-upgrade",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option dontlog-normal",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option dontlognull",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option forwardfor",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option h1-case-adjust-bogus-client",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option h1-case-adjust-bogus-server",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-buffer-request",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-ignore-probes",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option http-keep-alive",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-no-delay",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-pretend-keepalive",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-restrict-req-hdr-names",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-server-close",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option http-use-proxy-header",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option httpchk",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option httpclose",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option httplog",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option httpslog",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option independent-streams",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option ldap-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option external-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option log-health-checks",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option log-separate-errors",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option logasap",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option mysql-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option nolinger",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option originalto",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option persist",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option pgsql-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option prefer-last-server",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option redispatch",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option redis-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option smtpchk",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option socket-stats",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option splice-auto",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option splice-request",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option splice-response",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option spop-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option srvtcpka",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option ssl-hello-chk",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option tcp-check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option tcp-smart-accept",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "option tcp-smart-connect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option tcpka",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option tcplog",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "option transparent",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "option idle-close-on-response",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "external-check command",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "external-check path",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "persist rdp-cookie",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "rate-limit sessions",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "redirect",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "retries",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "retry-on",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "server",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "server-state-file-name",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "server-template",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "source",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "srvtcpka-cnt",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "srvtcpka-idle",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "srvtcpka-intvl",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats admin",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats auth",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats enable",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats hide-version",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats http-request",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats realm",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats refresh",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats scope",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats show-desc",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats show-legends",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats show-node",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stats uri",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "stick match",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "stick on",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "stick store-request",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "stick store-response",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "stick-table",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check comment",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check connect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check expect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check send",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check send-lf",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check send-binary",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check send-binary-lf",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check set-var",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-check unset-var",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-request connection",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "tcp-request content",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-request inspect-delay",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-request session",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "tcp-response content",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "tcp-response inspect-delay",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout check",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout client",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "timeout client-fin",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "timeout connect",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout http-keep-alive",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout http-request",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout queue",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout server",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout server-fin",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout tarpit",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: true,
        },
    ),
    (
        "timeout tunnel",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "transparent",
        Allowed {
            defaults: true,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "unique-id-format",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "unique-id-header",
        Allowed {
            defaults: true,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "use_backend",
        Allowed {
            defaults: false,
            frontend: true,
            listen: true,
            backend: false,
        },
    ),
    (
        "use-fcgi-app",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
    (
        "use-server",
        Allowed {
            defaults: false,
            frontend: false,
            listen: true,
            backend: true,
        },
    ),
];

pub const GLOBAL_KEYWORDS: &[&str] = &[
    "51degrees-cache-size",
    "51degrees-data-file",
    "51degrees-property-name-list",
    "51degrees-property-separator",
    "busy-polling",
    "ca-base",
    "chroot",
    "cluster-secret",
    "cpu-map",
    "crt-base",
    "daemon",
    "default-path",
    "description",
    "deviceatlas-json-file",
    "deviceatlas-log-level",
    "deviceatlas-properties-cookie",
    "deviceatlas-separator",
    "expose-experimental-directives",
    "external-check",
    "fd-hard-limit",
    "gid",
    "grace",
    "group",
    "h1-accept-payload-with-any-method",
    "h1-case-adjust",
    "h1-case-adjust-file",
    "h2-workaround-bogus-websocket-clients",
    "hard-stop-after",
    "httpclient.resolvers.id",
    "httpclient.resolvers.prefer",
    "httpclient.ssl.ca-file",
    "httpclient.ssl.verify",
    "insecure-fork-wanted",
    "insecure-setuid-wanted",
    "issuers-chain-path",
    "localpeer",
    "log",
    "log-send-hostname",
    "log-tag",
    "lua-load",
    "lua-load-per-thread",
    "lua-prepend-path",
    "max-spread-checks",
    "maxcompcpuusage",
    "maxcomprate",
    "maxconn",
    "maxconnrate",
    "maxpipes",
    "maxsessrate",
    "maxsslconn",
    "maxsslrate",
    "maxzlibmem",
    "mworker-max-reloads",
    "nbthread",
    "no-memory-trimming",
    "node",
    "noepoll",
    "noevports",
    "nogetaddrinfo",
    "nokqueue",
    "nopoll",
    "noreuseport",
    "nosplice",
    "numa-cpu-mapping",
    "pidfile",
    "pp2-never-send-local",
    "presetenv",
    "profiling.tasks",
    "quiet",
    "resetenv",
    "server-state-base",
    "server-state-file",
    "set-dumpable",
    "set-var",
    "setenv",
    "spread-checks",
    "ssl-default-bind-ciphers",
    "ssl-default-bind-ciphersuites",
    "ssl-default-bind-curves",
    "ssl-default-bind-options",
    "ssl-default-server-ciphers",
    "ssl-default-server-ciphersuites",
    "ssl-default-server-options",
    "ssl-dh-param-file",
    "ssl-engine",
    "ssl-mode-async",
    "ssl-propquery",
    "ssl-provider",
    "ssl-provider-path",
    "ssl-server-verify",
    "ssl-skip-self-issued-ca",
    "stats",
    "strict-limits",
    "tune.buffers.limit",
    "tune.buffers.reserve",
    "tune.bufsize",
    "tune.comp.maxlevel",
    "tune.fail-alloc",
    "tune.fd.edge-triggered",
    "tune.h2.header-table-size",
    "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams",
    "tune.http.cookielen",
    "tune.http.logurilen",
    "tune.http.maxhdr",
    "tune.idle-pool.shared",
    "tune.idletimer",
    "tune.lua.forced-yield",
    "tune.lua.maxmem",
    "tune.lua.service-timeout",
    "tune.lua.session-timeout",
    "tune.lua.task-timeout",
    "tune.maxaccept",
    "tune.maxpollevents",
    "tune.maxrewrite",
    "tune.pattern.cache-size",
    "tune.peers.max-updates-at-once",
    "tune.pipesize",
    "tune.pool-high-fd-ratio",
    "tune.pool-low-fd-ratio",
    "tune.quic.frontend.conn-tx-buffers.limit",
    "tune.quic.frontend.max-idle-timeout",
    "tune.quic.frontend.max-streams-bidi",
    "tune.quic.retry-threshold",
    "tune.rcvbuf.client",
    "tune.rcvbuf.server",
    "tune.recv_enough",
    "tune.runqueue-depth",
    "tune.sched.low-latency",
    "tune.sndbuf.client",
    "tune.sndbuf.server",
    "tune.ssl.cachesize",
    "tune.ssl.capture-buffer-size",
    "tune.ssl.capture-cipherlist-size",
    "tune.ssl.default-dh-param",
    "tune.ssl.force-private-cache",
    "tune.ssl.hard-maxrecord",
    "tune.ssl.keylog",
    "tune.ssl.lifetime",
    "tune.ssl.maxrecord",
    "tune.ssl.ssl-ctx-cache-size",
    "tune.vars.global-max-size",
    "tune.vars.proc-max-size",
    "tune.vars.reqres-max-size",
    "tune.vars.sess-max-size",
    "tune.vars.txn-max-size",
    "tune.zlib.memlevel",
    "tune.zlib.windowsize",
    "uid",
    "ulimit-n",
    "unix-bind",
    "unsetenv",
    "user",
    "wurfl-cache-size",
    "wurfl-data-file",
    "wurfl-information-list",
    "wurfl-information-list-separator",
    "zero-warning",
    "nbproc",
    "stats",
];
