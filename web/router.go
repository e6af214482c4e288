package web

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"certmaker/httplog"
)

// router is httprouter, the router of every door, with routes written
// "METHOD /path/{param}". httprouter holds no static segment beside a
// parameter ("/certificates/new" beside "/certificates/{id}"); such a
// static route is served by the parameter's route, which looks at the
// value first.
type router struct {
	*httprouter.Router
	routes []route
}

type route struct {
	method, pattern string
	segs            []string
	h               http.HandlerFunc
}

func newRouter(notFound http.Handler) *router {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false
	r.NotFound = notFound
	return &router{Router: r}
}

// handle registers h; routes take effect with mount. The request log is
// labelled with the pattern (never the raw path, which holds ids), and
// the parameters become the request's path values, as handlers read them.
func (d *Dashboard) handle(spec string, h http.HandlerFunc) {
	method, pattern, _ := strings.Cut(spec, " ")
	d.router.routes = append(d.router.routes, route{method, pattern, strings.Split(pattern, "/"), h})
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") }

// mount registers every route with httprouter.
func (rt *router) mount() {
	type dispatch struct {
		pattern string            // what httprouter holds
		param   string            // the parameter whose value picks a route
		statics map[string]*route // its values that are routes of their own
		dynamic *route            // any other value
	}
	var order []string
	byKey := map[string]*dispatch{}
	get := func(method, pattern string) *dispatch {
		k := method + " " + pattern
		if byKey[k] == nil {
			byKey[k] = &dispatch{pattern: pattern, statics: map[string]*route{}}
			order = append(order, k)
		}
		return byKey[k]
	}
	for i := range rt.routes {
		r := &rt.routes[i]
		key, at, param := r.pattern, -1, ""
		for _, o := range rt.routes {
			if at >= 0 || o.method != r.method {
				continue
			}
			for n := range min(len(r.segs), len(o.segs)) {
				if r.segs[n] != o.segs[n] && !(isParam(r.segs[n]) && isParam(o.segs[n])) {
					if !isParam(r.segs[n]) && isParam(o.segs[n]) {
						at, param = n, o.segs[n]
					}
					break
				}
			}
		}
		if at < 0 {
			get(r.method, key).dynamic = r
			continue
		}
		segs := append([]string(nil), r.segs...)
		segs[at] = param
		d := get(r.method, strings.Join(segs, "/"))
		d.param = strings.Trim(param, "{}")
		d.statics[r.segs[at]] = r
	}
	for _, k := range order {
		d := byKey[k]
		method, _, _ := strings.Cut(k, " ")
		rt.Handle(method, toHTTPRouter(d.pattern), func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
			r := d.dynamic
			if s, ok := d.statics[p.ByName(d.param)]; ok && d.param != "" {
				r = s
			}
			if r == nil {
				rt.NotFound.ServeHTTP(w, req)
				return
			}
			httplog.SetRoute(req, r.pattern)
			for _, kv := range p {
				req.SetPathValue(kv.Key, kv.Value)
			}
			r.h(w, req)
		})
	}
}

// toHTTPRouter spells {param} as httprouter's :param.
func toHTTPRouter(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if isParam(s) {
			segs[i] = ":" + strings.Trim(s, "{}")
		}
	}
	return strings.Join(segs, "/")
}
