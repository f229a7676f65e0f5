package httpapi

// WebUIScripts exports webUIScripts to the external tests.
var WebUIScripts = webUIScripts
