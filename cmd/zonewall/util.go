package main

import (
	"errors"
	"io/fs"

	"github.com/spf13/viper"
)

func isNotExist(err error) bool {
	var nf viper.ConfigFileNotFoundError
	return errors.As(err, &nf) || errors.Is(err, fs.ErrNotExist)
}
