package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// LibreTranslate speaks the LibreTranslate HTTP API (POST /translate with
// {q, source, target, format, api_key} answering {translatedText}, GET
// /languages answering [{code, name, targets}]), which LibreTranslate
// itself and several compatible services serve. Point it at a server the
// district runs: the texts are children's plans.
type LibreTranslate struct {
	o      LibreOptions
	client *http.Client

	mu      sync.Mutex
	pairs   map[string]bool // "en>es"
	fetched time.Time
	lastErr error
}

// LibreOptions configure the adapter; zero values take the defaults.
type LibreOptions struct {
	URL      string // base URL, e.g. http://127.0.0.1:5000
	APIKey   string // sent as api_key when set
	Name     string // how translations name it, default "LibreTranslate"
	Timeout  time.Duration
	MaxInput int
	// Client overrides the HTTP client (its Timeout is set from Timeout
	// when zero).
	Client *http.Client
}

const (
	// DefaultLibreTimeout bounds one request.
	DefaultLibreTimeout = 30 * time.Second
	// languagesTTL is how long the list of languages is believed, and
	// languagesRetry how soon a failed fetch is tried again.
	languagesTTL   = 10 * time.Minute
	languagesRetry = 30 * time.Second
	// maxResponse bounds a response body.
	maxResponse = 1 << 20
)

// NewLibreTranslate checks the URL; the server is asked nothing until the
// first text.
func NewLibreTranslate(o LibreOptions) (*LibreTranslate, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("translate: LibreTranslate needs an http or https URL, got %q", o.URL)
	}
	o.URL = strings.TrimSuffix(o.URL, "/")
	if o.Name == "" {
		o.Name = "LibreTranslate"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultLibreTimeout
	}
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	c := o.Client
	if c == nil {
		c = &http.Client{}
	}
	if c.Timeout == 0 {
		cc := *c
		cc.Timeout = o.Timeout
		c = &cc
	}
	return &LibreTranslate{o: o, client: c}, nil
}

// Name implements Engine.
func (l *LibreTranslate) Name() string { return l.o.Name }

// Supports implements Engine from the server's /languages, fetched at
// most every languagesTTL.
func (l *LibreTranslate) Supports(ctx context.Context, from, to string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	stale := l.pairs == nil || now.Sub(l.fetched) > languagesTTL
	if stale && (l.lastErr == nil || now.Sub(l.fetched) > languagesRetry) {
		pairs, err := l.languages(ctx)
		l.fetched, l.lastErr = now, err
		if err == nil {
			l.pairs = pairs
		}
	}
	if l.pairs == nil {
		return false, l.lastErr
	}
	return l.pairs[base(from)+">"+base(to)], nil
}

type libreLanguage struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
}

func (l *LibreTranslate) languages(ctx context.Context) (map[string]bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.o.URL+"/languages", nil)
	if err != nil {
		return nil, err
	}
	var langs []libreLanguage
	if err := l.do(req, &langs); err != nil {
		return nil, err
	}
	pairs := map[string]bool{}
	for _, lg := range langs {
		for _, t := range lg.Targets {
			if base(t) != base(lg.Code) {
				pairs[base(lg.Code)+">"+base(t)] = true
			}
		}
	}
	return pairs, nil
}

type libreRequest struct {
	Q      string `json:"q"`
	Source string `json:"source"`
	Target string `json:"target"`
	Format string `json:"format"`
	APIKey string `json:"api_key,omitempty"`
}

type libreResponse struct {
	TranslatedText *string `json:"translatedText"`
}

// Translate implements Engine.
func (l *LibreTranslate) Translate(ctx context.Context, text, from, to string) (string, error) {
	if err := checkInput(text, l.o.MaxInput); err != nil {
		return "", err
	}
	ok, err := l.Supports(ctx, from, to)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: %s to %s", ErrUnsupported, from, to)
	}
	body, err := json.Marshal(libreRequest{Q: text, Source: base(from), Target: base(to), Format: "text", APIKey: l.o.APIKey})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.o.URL+"/translate", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var res libreResponse
	if err := l.do(req, &res); err != nil {
		return "", err
	}
	if res.TranslatedText == nil {
		return "", errors.New("translate: LibreTranslate answered without translatedText")
	}
	return *res.TranslatedText, nil
}

// do sends req and decodes a JSON answer into out, or returns the
// server's {"error": ...} as an error.
func (l *LibreTranslate) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("translate: %s: %w", l.o.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("translate: %s: reading the answer: %w", l.o.Name, err)
	}
	if len(b) > maxResponse {
		return fmt.Errorf("translate: %s answered more than %d bytes", l.o.Name, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("%w: %s: %s", ErrBusy, l.o.Name, e.Error)
		}
		return fmt.Errorf("translate: %s answered %d: %s", l.o.Name, resp.StatusCode, e.Error)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("translate: %s: bad answer: %w", l.o.Name, err)
	}
	return nil
}
