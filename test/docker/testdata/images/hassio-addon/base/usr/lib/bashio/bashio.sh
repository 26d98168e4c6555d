# The bashio::* functions the fixture's scripts call.
__bashio_level() {
    case ${1,,} in
        trace) echo 0 ;; debug) echo 1 ;; info) echo 2 ;; notice) echo 3 ;;
        warning) echo 4 ;; error) echo 5 ;; fatal) echo 6 ;; *) echo 2 ;;
    esac
}
__bashio_log() {
    local level=$1
    shift
    local want
    want=$(__bashio_level "${LOG_LEVEL:-$(cat /run/bashio-log-level 2>/dev/null || echo info)}")
    if (($(__bashio_level "$level") >= want)); then
        printf '[%s] %s: %s\n' "$(date +%H:%M:%S)" "${level^^}" "$*"
    fi
}
bashio::log.debug() { __bashio_log debug "$@"; }
bashio::log.info() { __bashio_log info "$@"; }
bashio::log.notice() { __bashio_log notice "$@"; }
bashio::log.warning() { __bashio_log warning "$@"; }
bashio::log.error() { __bashio_log error "$@"; }
bashio::log.blue() { printf '%s\n' "$*"; }

# bashio::config KEY [DEFAULT]: a string or number option of /data/options.json.
bashio::config() {
    local value
    value=$(sed -n "s/.*\"$1\" *: *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" /data/options.json 2>/dev/null | head -n1)
    printf '%s\n' "${value:-${2:-}}"
}
bashio::config.has_value() { [[ -n $(bashio::config "$1") ]]; }
bashio::exit.nok() {
    [[ $# -gt 0 ]] && bashio::log.error "$*"
    exit 1
}
