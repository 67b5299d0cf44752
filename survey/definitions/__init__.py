"""Survey definition files: the YAML/JSON contract, loading it into the database and dumping it back."""

from .schema import DefinitionError, SurveyDefinition, parse_definition, read_definition_bytes, read_definition_file
from .store import LoadResult, definition_from_survey, dump_definition, load_definition

__all__ = [
    "DefinitionError",
    "LoadResult",
    "SurveyDefinition",
    "definition_from_survey",
    "dump_definition",
    "load_definition",
    "parse_definition",
    "read_definition_bytes",
    "read_definition_file",
]
