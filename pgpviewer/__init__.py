"""pgpviewer: measure P-glycoprotein transfer between donor and recipient cells."""

__version__ = "0.1.0"
