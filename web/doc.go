// Package web is certmaker's dashboard: the pages people use where scripts
// use the API. It signs people in with their API token (exchanged for a
// session cookie), lists and describes their certificates with the same
// inventory code as the CLI and the JSON API, requests, proves and revokes
// certificates through the service core, as the API's routes do, and
// gives admins the operator's pages.
//
// Everything it serves is embedded: html/template pages, one stylesheet
// and a little vanilla JavaScript that the pages work without.
//
// Sessions live in memory (a restart signs everyone out) under random
// 256-bit ids; a session keeps the user's name, a per-session CSRF token
// and the hash the store already keeps of the user's token, never the
// token itself. Every POST needs the CSRF token and, when the browser
// says where it comes from, this origin.
package web
