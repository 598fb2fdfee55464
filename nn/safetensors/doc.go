// Package safetensors writes and reads a model's parameters in the
// safetensors format (a JSON header of names, element types, shapes and
// offsets, then the raw little-endian tensors) under PyTorch's state_dict
// names and layouts, so that weights trained by dpmpi load into the
// equivalent torch.nn model, and weights from PyTorch load into dpmpi:
//
//	tensors, err := model.StateDict() // nn.Sequential, bound to its arena
//	...
//	err = safetensors.WriteFile("model.safetensors", tensors, safetensors.Float32, nil)
//
// and in Python (the safetensors package, or any reader of the format):
//
//	model.load_state_dict(safetensors.torch.load_file("model.safetensors"))
//
// Serialisation goes through github.com/nlpodyssey/safetensors. Values are
// stored as float32 (PyTorch's default parameter type) or float64; reading
// accepts both and converts to float64.
package safetensors
