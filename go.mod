module github.com/medic-sre/medic

go 1.26
