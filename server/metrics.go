package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pinbridge/pinbridge-auth/internal/mail"
)

// metrics are the service's Prometheus metrics, on a registry of its own (one per Server).
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	hashBusy     prometheus.Counter
	rateLimited  *prometheus.CounterVec
	// series holds each (route, method, status)'s counter and histogram once looked up: a vector
	// hashes its label values on every lookup. Routes are the spec's templates (and "unmatched"),
	// so it holds as many entries as series exist.
	series sync.Map // seriesKey -> *seriesOf
}

type seriesKey struct {
	route, method string
	status        int
}

type seriesOf struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics(s *Server, sender *mail.Sender) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinbridge_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pinbridge_http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinbridge_auth_failures_total", Help: "Refused authentications by reason (the error code).",
		}, []string{"reason"}),
		hashBusy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pinbridge_password_hash_rejected_total", Help: "Requests refused because the password-hashing pool was saturated.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinbridge_rate_limited_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
	}
	hashQueue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pinbridge_password_hash_queue", Help: "Requests waiting for a password-hashing worker.",
	}, func() float64 { return float64(s.hasher.Waiting()) })
	backlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pinbridge_mail_outbox_backlog", Help: "Emails queued and not yet delivered (-1 when the database cannot be read).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := s.store.OutboxBacklog(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	mailFailures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pinbridge_mail_send_failures_total", Help: "Failed email delivery attempts (each is retried).",
	}, func() float64 { return float64(sender.Failures()) })
	m.registry.MustRegister(m.requests, m.latency, m.authFailures, m.hashBusy, mailFailures, m.rateLimited,
		hashQueue, backlog, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one finished request.
func (m *metrics) observe(c echo.Context, status int, elapsed time.Duration) {
	route := c.Path()
	if route == "" {
		route = "unmatched" // never the raw path: unbounded label values
	}
	key := seriesKey{route, methodLabel(c.Request().Method), status}
	v, ok := m.series.Load(key)
	if !ok {
		v, _ = m.series.LoadOrStore(key, &seriesOf{
			requests: m.requests.WithLabelValues(key.route, key.method, strconv.Itoa(status)),
			latency:  m.latency.WithLabelValues(key.route, key.method),
		})
	}
	series := v.(*seriesOf)
	series.requests.Inc()
	series.latency.Observe(elapsed.Seconds())
	if code := stateOf(c.Request().Context()).errorCode; code != "" && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
		m.authFailures.WithLabelValues(code).Inc()
	}
}

// methodLabel is the method as the metrics label it: a method outside HTTP's own is "other", so
// that a caller sending made-up methods cannot make series without end.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *metrics) handler() echo.HandlerFunc {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	return echo.WrapHandler(h)
}
