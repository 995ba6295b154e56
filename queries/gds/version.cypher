// name: gds/version
// description: The Graph Data Science library's version (fails without the plugin).
// parameters: none
// returns: version
RETURN gds.version() AS version
