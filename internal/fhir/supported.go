package fhir

// Supported reports whether Wholecare decodes resources of this type (the
// resource types in scope of the element table).
func Supported(resourceType string) bool {
	_, ok := resourceTypeID([]byte(resourceType))
	return ok
}
